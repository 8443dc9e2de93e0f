// Fuzzes ReadItemLabels: the first byte picks skip_bad_lines; the rest is the
// file. The read returns a Status naming the problem and leaving the map
// unchanged, or labels that are non-empty, trimmed, free of control
// characters and of '|', valid UTF-8, and not repeated within an item.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "core/data/item_label_reader.h"
#include "core/data/item_metadata.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

void CheckLabels(const uint8_t* data, size_t size) {
  if (size < 1) return;
  static MemoryFile file("labels");
  ItemLabelReadOptions options;
  options.skip_bad_lines = (data[0] & 0x01) != 0;
  ItemLabelMap labels;
  const absl::StatusOr<ItemLabelReadReport> report =
      ReadItemLabels(file.Write(absl::string_view(
                         reinterpret_cast<const char*>(data + 1), size - 1)),
                     options, &labels);
  if (!report.ok()) {
    FUZZ_CHECK(!report.status().message().empty());
    return;
  }
  FUZZ_CHECK(report->delimiter == '\t' || report->delimiter == ',');
  FUZZ_CHECK(options.skip_bad_lines || report->skipped_bad_lines == 0);
  FUZZ_CHECK(static_cast<int64_t>(labels.size()) == report->items);
  absl::flat_hash_set<std::string> distinct;
  for (const auto& [id, item_labels] : labels) {
    FUZZ_CHECK(!id.empty());
    absl::flat_hash_set<std::string> seen;
    for (const std::string& label : item_labels) {
      FUZZ_CHECK(!label.empty());
      FUZZ_CHECK(label.find('|') == std::string::npos);
      FUZZ_CHECK(label == absl::StripAsciiWhitespace(label));
      for (const char c : label) {
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
      }
      FUZZ_CHECK(IsValidUtf8(label));
      FUZZ_CHECK(seen.insert(label).second);
      distinct.insert(label);
    }
  }
  FUZZ_CHECK(static_cast<int64_t>(distinct.size()) == report->distinct_labels);
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckLabels(data, size);
  return 0;
}
