#ifndef RECSERVE_CORE_DATA_SPARSE_RATINGS_H_
#define RECSERVE_CORE_DATA_SPARSE_RATINGS_H_

// Ratings grouped by user or by item: the one counting sort that the
// trainers, the evaluator, the split and the snapshot writer share.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"

namespace recserve {

// Which index of a Rating groups it: its user or its item.
enum class RatingAxis { kUser, kItem };

// Ratings grouped by row (user or item) in compressed sparse row form:
// row r's entries are cols[offsets[r] .. offsets[r+1]) with their values;
// cols are the other index (items of a user row, users of an item row).
// Within a row, entries keep the order of the input. Immutable after
// construction; const access is thread-safe.
struct SparseRatings {
  std::vector<int64_t> offsets;
  std::vector<int32_t> cols;
  std::vector<float> values;

  int32_t rows() const { return static_cast<int32_t>(offsets.size()) - 1; }
  int64_t RowSize(int32_t row) const { return offsets[row + 1] - offsets[row]; }
  // The cols of `row`, which must be in [0, rows()).
  absl::Span<const int32_t> Row(int32_t row) const {
    return absl::MakeConstSpan(cols).subspan(offsets[row], RowSize(row));
  }
};

// Groups `ratings` by `axis`; `rows` is the number of users (kUser) or items
// (kItem). Ratings whose index on that axis is outside [0, rows), such as
// kUnknownIndex, are left out.
SparseRatings GroupRatings(absl::Span<const Rating> ratings, int32_t rows,
                           RatingAxis axis);

// Positions into a rating list grouped by row: row r holds the positions i
// (ascending) of the ratings whose index is r, as
// positions[offsets[r] .. offsets[r+1]). For grouping what a Rating does not
// carry into SparseRatings (timestamps, the ratings themselves). Immutable
// after construction; const access is thread-safe.
struct RatingPositions {
  std::vector<int64_t> offsets;
  std::vector<int64_t> positions;

  int32_t rows() const { return static_cast<int32_t>(offsets.size()) - 1; }
  int64_t RowSize(int32_t row) const { return offsets[row + 1] - offsets[row]; }
  // The positions of `row`, which must be in [0, rows()).
  absl::Span<const int64_t> Row(int32_t row) const {
    return absl::MakeConstSpan(positions).subspan(offsets[row], RowSize(row));
  }
};

// GroupRatings' grouping, as positions into `ratings`; the same ratings are
// left out.
RatingPositions GroupRatingPositions(absl::Span<const Rating> ratings,
                                     int32_t rows, RatingAxis axis);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_SPARSE_RATINGS_H_
