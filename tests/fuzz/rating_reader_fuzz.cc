// Fuzzes ReadRatings: the first byte picks the format, skip_bad_lines, the
// generic delimiter and column mapping, and implicit feedback with event
// weights; the rest is the file. Whatever the bytes, the read returns a
// Status or a Dataset that keeps the documented invariants.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <utility>

#include "absl/strings/string_view.h"
#include "core/data/event_weights.h"
#include "core/data/rating_reader.h"
#include "core/data/ratings.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

constexpr RatingFormat kFormats[] = {RatingFormat::kAuto, RatingFormat::kMl100k,
                                     RatingFormat::kMlDat, RatingFormat::kMlCsv,
                                     RatingFormat::kGeneric};
constexpr const char* kDelimiters[] = {",", "\\t", "::", ";"};

const EventWeights& FuzzEvents() {
  static const EventWeights* events = [] {
    auto parsed = ParseEventWeights("view=1,cart=4,buy=10,skip=2", "skip,no");
    FUZZ_CHECK(parsed.ok());
    return new EventWeights(*parsed);
  }();
  return *events;
}

void CheckRatings(const uint8_t* data, size_t size) {
  if (size < 1) return;
  static MemoryFile file("ratings");
  const uint8_t control = data[0];
  RatingReadOptions options;
  options.format = kFormats[control % 5];
  options.skip_bad_lines = (control & 0x08) != 0;
  options.generic_delimiter = kDelimiters[(control >> 4) % 4];
  if ((control & 0x80) != 0) {
    // Implicit feedback: typed, counted events (no rating column, so kAuto
    // reads them as implicit), or ratings as strengths times counts (any
    // format).
    options.events = FuzzEvents();
    if ((control & 0x40) != 0) {
      options.generic_columns = "user=u,item=i,count=c,event=e,timestamp=t";
    } else {
      options.generic_columns = "user=u,item=i,rating=r,count=c";
      options.feedback = Feedback::kImplicit;
    }
  } else if ((control & 0x40) != 0) {
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
  FUZZ_CHECK(report->feedback != Feedback::kAuto);
  FUZZ_CHECK(report->ratings > 0);
  FUZZ_CHECK(report->lines == report->ratings + report->duplicates_dropped +
                                  report->merged + report->skipped_bad_lines);
  FUZZ_CHECK(static_cast<int64_t>(dataset.ratings.size()) == report->ratings);
  FUZZ_CHECK(options.skip_bad_lines || report->skipped_bad_lines == 0);
  FUZZ_CHECK(report->bad_line_messages.size() <= 10);
  const bool implicit = report->feedback == Feedback::kImplicit;
  FUZZ_CHECK(implicit || (report->merged == 0 && report->negative == 0 &&
                          report->event_lines.empty()));
  FUZZ_CHECK(!implicit || report->duplicates_dropped == 0);
  int64_t event_lines = 0;
  for (const auto& [name, lines] : report->event_lines) {
    FUZZ_CHECK(!name.empty() && lines > 0);
    FUZZ_CHECK(name.front() != ' ' && name.back() != ' ');
    event_lines += lines;
  }
  FUZZ_CHECK(report->event_lines.empty() ||
             event_lines == report->lines - report->skipped_bad_lines);
  int64_t negative = 0;
  std::set<std::pair<int32_t, int32_t>> cells;
  for (const Rating& r : dataset.ratings) {
    FUZZ_CHECK(r.user >= 0 && r.user < dataset.users.size());
    FUZZ_CHECK(r.item >= 0 && r.item < dataset.items.size());
    FUZZ_CHECK(std::isfinite(r.value));
    if (implicit) {
      // One cell per pair; negative only through a negative event type.
      FUZZ_CHECK(cells.emplace(r.user, r.item).second);
      negative += r.value < 0;
    } else {
      FUZZ_CHECK(r.value >= options.min_rating &&
                 r.value <= options.max_rating);
    }
    FUZZ_CHECK(!dataset.users.Id(r.user).empty());
    FUZZ_CHECK(!dataset.items.Id(r.item).empty());
  }
  FUZZ_CHECK(negative == report->negative);
  FUZZ_CHECK(negative == 0 || report->event_lines.count("skip") > 0 ||
             report->event_lines.count("no") > 0);
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckRatings(data, size);
  return 0;
}
