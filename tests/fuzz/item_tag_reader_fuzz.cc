// Fuzzes ReadItemTags: the first byte picks skip_bad_lines; the rest is the
// file. The read returns a Status naming the problem and leaving the map
// unchanged, or tags that are non-empty, trimmed, ASCII-lowercase, free of
// control characters, valid UTF-8, and not repeated within an item.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "core/base/delimited_line.h"
#include "core/data/item_metadata.h"
#include "core/data/item_tag_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

void CheckTags(const uint8_t* data, size_t size) {
  if (size < 1) return;
  static MemoryFile file("tags");
  ItemTagReadOptions options;
  options.skip_bad_lines = (data[0] & 0x01) != 0;
  ItemTagMap tags = {{"kept", {"x"}}};
  const absl::StatusOr<ItemTagReadReport> report =
      ReadItemTags(file.Write(absl::string_view(
                       reinterpret_cast<const char*>(data + 1), size - 1)),
                   options, &tags);
  if (!report.ok()) {
    FUZZ_CHECK(!report.status().message().empty());
    FUZZ_CHECK(tags.size() == 1 && tags["kept"].size() == 1);
    return;
  }
  FUZZ_CHECK(options.skip_bad_lines || report->skipped_bad_lines == 0);
  FUZZ_CHECK(report->items >= 1);
  FUZZ_CHECK(report->lines >= report->skipped_bad_lines + 1);
  FUZZ_CHECK(static_cast<int64_t>(tags.size()) <= report->items + 1);
  absl::flat_hash_set<std::string> distinct;
  for (const auto& [id, item_tags] : tags) {
    FUZZ_CHECK(!id.empty());
    if (id == "kept") continue;
    absl::flat_hash_set<std::string> seen;
    for (const std::string& tag : item_tags) {
      FUZZ_CHECK(!tag.empty());
      FUZZ_CHECK(tag == absl::StripAsciiWhitespace(tag));
      FUZZ_CHECK(tag == absl::AsciiStrToLower(tag));
      for (const char c : tag) {
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
      }
      FUZZ_CHECK(IsValidUtf8(tag));
      FUZZ_CHECK(seen.insert(tag).second);
      distinct.insert(tag);
    }
  }
  FUZZ_CHECK(static_cast<int64_t>(distinct.size()) <= report->distinct_tags);
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckTags(data, size);
  return 0;
}
