#include "core/data/sparse_ratings.h"

namespace recserve {

SparseRatings GroupRatings(absl::Span<const Rating> ratings, int32_t rows,
                           bool by_user) {
  SparseRatings m;
  m.offsets.assign(rows + 1, 0);
  for (const Rating& r : ratings) ++m.offsets[(by_user ? r.user : r.item) + 1];
  for (int32_t row = 0; row < rows; ++row) m.offsets[row + 1] += m.offsets[row];
  m.cols.resize(ratings.size());
  m.values.resize(ratings.size());
  std::vector<int64_t> next(m.offsets.begin(), m.offsets.end() - 1);
  for (const Rating& r : ratings) {
    const int64_t at = next[by_user ? r.user : r.item]++;
    m.cols[at] = by_user ? r.item : r.user;
    m.values[at] = r.value;
  }
  return m;
}

}  // namespace recserve
