#include "core/data/sparse_ratings.h"

namespace recserve {
namespace {

// The counting sort behind both groupings: sizes `offsets` (rows + 1 entries)
// and calls place(at, i) with the destination slot of each kept rating i, in
// input order. Returns the number of ratings kept.
template <typename Place>
int64_t CountingGroup(absl::Span<const Rating> ratings, int32_t rows,
                      RatingAxis axis, std::vector<int64_t>& offsets,
                      Place place) {
  const auto row_of = [axis](const Rating& r) {
    return axis == RatingAxis::kUser ? r.user : r.item;
  };
  const auto kept = [rows](int32_t row) { return row >= 0 && row < rows; };
  offsets.assign(static_cast<size_t>(rows) + 1, 0);
  for (const Rating& r : ratings) {
    const int32_t row = row_of(r);
    if (kept(row)) ++offsets[row + 1];
  }
  for (int32_t row = 0; row < rows; ++row) offsets[row + 1] += offsets[row];
  std::vector<int64_t> next(offsets.begin(), offsets.end() - 1);
  for (size_t i = 0; i < ratings.size(); ++i) {
    const int32_t row = row_of(ratings[i]);
    if (kept(row)) place(next[row]++, i);
  }
  return offsets.back();
}

}  // namespace

SparseRatings GroupRatings(absl::Span<const Rating> ratings, int32_t rows,
                           RatingAxis axis) {
  SparseRatings m;
  m.cols.resize(ratings.size());
  m.values.resize(ratings.size());
  const int64_t kept =
      CountingGroup(ratings, rows, axis, m.offsets, [&](int64_t at, size_t i) {
        const Rating& r = ratings[i];
        m.cols[at] = axis == RatingAxis::kUser ? r.item : r.user;
        m.values[at] = r.value;
      });
  m.cols.resize(kept);
  m.values.resize(kept);
  return m;
}

RatingPositions GroupRatingPositions(absl::Span<const Rating> ratings,
                                     int32_t rows, RatingAxis axis) {
  RatingPositions g;
  g.positions.resize(ratings.size());
  const int64_t kept = CountingGroup(
      ratings, rows, axis, g.offsets,
      [&](int64_t at, size_t i) { g.positions[at] = static_cast<int64_t>(i); });
  g.positions.resize(kept);
  return g;
}

}  // namespace recserve
