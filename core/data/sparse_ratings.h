#ifndef RECSERVE_CORE_DATA_SPARSE_RATINGS_H_
#define RECSERVE_CORE_DATA_SPARSE_RATINGS_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"

namespace recserve {

// Ratings grouped by row (user or item) in compressed sparse row form:
// row r's entries are cols[offsets[r] .. offsets[r+1]) with their values.
// Within a row, entries keep the order of the input. Immutable after
// construction; const access is thread-safe.
struct SparseRatings {
  std::vector<int64_t> offsets;
  std::vector<int32_t> cols;
  std::vector<float> values;

  int32_t rows() const { return static_cast<int32_t>(offsets.size()) - 1; }
  int64_t RowSize(int32_t row) const { return offsets[row + 1] - offsets[row]; }
};

// Groups ratings by user (by_user = true) or by item. `rows` is the number
// of users (items); every rating's row index must be in [0, rows).
SparseRatings GroupRatings(absl::Span<const Rating> ratings, int32_t rows,
                           bool by_user);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_SPARSE_RATINGS_H_
