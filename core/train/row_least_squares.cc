#include "core/train/row_least_squares.h"

namespace recserve {

int64_t RowLeastSquares::Build(const SparseRatings& rows, int64_t row,
                               const FactorMatrix& other_factors,
                               const Eigen::VectorXf& other_bias,
                               float global_mean) {
  const Eigen::Index k = other_factors.cols();
  const int64_t start = rows.offsets[row];
  const int64_t n = rows.offsets[row + 1] - start;
  features.resize(n, k + 1);
  targets.resize(n);
  for (int64_t j = 0; j < n; ++j) {
    const int32_t col = rows.cols[start + j];
    features.row(j).head(k) = other_factors.row(col);
    features(j, k) = 1.0f;
    targets[j] = rows.values[start + j] - global_mean - other_bias[col];
  }
  gram.setZero(k + 1, k + 1);
  if (n == 0) {
    // Eigen's blocked product divides by the inner size: never call it on
    // an empty row.
    rhs.setZero(k + 1);
    return 0;
  }
  // A blocked rank-n update (SYRK) is several times faster than summing
  // n outer products.
  gram.selfadjointView<Eigen::Lower>().rankUpdate(features.transpose());
  rhs.noalias() = features.transpose() * targets;
  return n;
}

}  // namespace recserve
