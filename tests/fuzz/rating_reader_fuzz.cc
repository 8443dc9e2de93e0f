// Fuzzes ReadRatings: the first byte picks the format, skip_bad_lines and
// the generic delimiter; the rest is the file. Whatever the bytes, the read
// returns a Status or a Dataset that keeps the documented invariants.

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/data/rating_reader.h"
#include "core/data/ratings.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

constexpr RatingFormat kFormats[] = {RatingFormat::kAuto, RatingFormat::kMl100k,
                                     RatingFormat::kMlDat, RatingFormat::kMlCsv,
                                     RatingFormat::kGeneric};
constexpr const char* kDelimiters[] = {",", "\\t", "::", ";"};

void CheckRatings(const uint8_t* data, size_t size) {
  if (size < 1) return;
  static MemoryFile file("ratings");
  const uint8_t control = data[0];
  RatingReadOptions options;
  options.format = kFormats[control % 5];
  options.skip_bad_lines = (control & 0x08) != 0;
  options.generic_delimiter = kDelimiters[(control >> 4) % 4];
  if ((control & 0x40) != 0) {
    options.generic_columns = "user=u,item=i,rating=r";
  }
  Dataset dataset;
  // Ids already interned must keep their indices (train then test files).
  dataset.users.GetOrAdd("1");
  dataset.items.GetOrAdd("1");
  const absl::StatusOr<RatingReadReport> report =
      ReadRatings(file.Write(absl::string_view(
                      reinterpret_cast<const char*>(data + 1), size - 1)),
                  options, &dataset);
  FUZZ_CHECK(dataset.users.Find("1") == 0 && dataset.items.Find("1") == 0);
  if (!report.ok()) {
    FUZZ_CHECK(!report.status().message().empty());
    FUZZ_CHECK(dataset.ratings.empty());
    return;
  }
  FUZZ_CHECK(report->format != RatingFormat::kAuto);
  FUZZ_CHECK(report->ratings > 0);
  FUZZ_CHECK(report->lines == report->ratings + report->duplicates_dropped +
                                  report->skipped_bad_lines);
  FUZZ_CHECK(static_cast<int64_t>(dataset.ratings.size()) == report->ratings);
  FUZZ_CHECK(options.skip_bad_lines || report->skipped_bad_lines == 0);
  FUZZ_CHECK(report->bad_line_messages.size() <= 10);
  for (const Rating& r : dataset.ratings) {
    FUZZ_CHECK(r.user >= 0 && r.user < dataset.users.size());
    FUZZ_CHECK(r.item >= 0 && r.item < dataset.items.size());
    FUZZ_CHECK(std::isfinite(r.value));
    FUZZ_CHECK(r.value >= options.min_rating && r.value <= options.max_rating);
    FUZZ_CHECK(!dataset.users.Id(r.user).empty());
    FUZZ_CHECK(!dataset.items.Id(r.item).empty());
  }
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckRatings(data, size);
  return 0;
}
