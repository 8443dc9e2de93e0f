// Fuzzes ReadItems: the first byte picks the format and skip_bad_lines; the
// rest is the file. The read returns a Status or a catalog whose titles and
// genres are valid UTF-8 (Latin-1 lines are decoded), keyed by digit ids.

#include <cstddef>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "core/data/item_metadata.h"
#include "core/data/item_reader.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

constexpr ItemFormat kFormats[] = {ItemFormat::kAuto, ItemFormat::kUItem,
                                   ItemFormat::kMoviesDat,
                                   ItemFormat::kMoviesCsv};

void CheckItems(const uint8_t* data, size_t size) {
  if (size < 1) return;
  static MemoryFile file("items");
  const uint8_t control = data[0];
  ItemReadOptions options;
  options.format = kFormats[control % 4];
  options.skip_bad_lines = (control & 0x04) != 0;
  ItemCatalog catalog;
  catalog["0"] = ItemMetadata{"kept unless the file names 0", {"Drama"}};
  const ItemCatalog before = catalog;
  const absl::StatusOr<ItemReadReport> report =
      ReadItems(file.Write(absl::string_view(
                    reinterpret_cast<const char*>(data + 1), size - 1)),
                options, &catalog);
  if (!report.ok()) {
    FUZZ_CHECK(!report.status().message().empty());
    FUZZ_CHECK(catalog.size() == before.size());  // left unchanged
    FUZZ_CHECK(catalog.at("0").title == before.at("0").title);
    return;
  }
  FUZZ_CHECK(report->format != ItemFormat::kAuto);
  FUZZ_CHECK(report->items == report->lines - report->skipped_bad_lines);
  FUZZ_CHECK(options.skip_bad_lines || report->skipped_bad_lines == 0);
  FUZZ_CHECK(static_cast<int64_t>(catalog.size()) <= report->items + 1);
  for (const auto& [id, item] : catalog) {
    FUZZ_CHECK(!id.empty());
    for (char c : id) FUZZ_CHECK(absl::ascii_isdigit(c));
    FUZZ_CHECK(IsValidUtf8(item.title));
    for (const std::string& genre : item.genres) {
      FUZZ_CHECK(IsValidUtf8(genre));
    }
  }
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckItems(data, size);
  return 0;
}
