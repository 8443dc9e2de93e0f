#include "core/model/row_least_squares.h"

#include <cassert>
#include <cmath>

#include "core/model/prefetch.h"

namespace recserve {

int64_t RowLeastSquares::Gather(absl::Span<const int32_t> cols,
                                absl::Span<const float> values,
                                Eigen::Ref<const FactorMatrix> other_factors,
                                Eigen::Ref<const Eigen::VectorXf> other_bias,
                                float global_mean) {
  assert(cols.size() == values.size());
  const Eigen::Index k = other_factors.cols();
  const auto n = static_cast<int64_t>(cols.size());
  features.resize(n, k + 1);
  targets.resize(n);
  for (int64_t j = 0; j < n; ++j) {
    // The other side's rows are read in rating order, at random: fetch
    // ahead, as the hardware prefetcher cannot guess them.
    if (j + kGatherAhead < n) {
      PrefetchRow(other_factors.row(cols[j + kGatherAhead]).data(), k);
    }
    const int32_t col = cols[j];
    features.row(j).head(k) = other_factors.row(col);
    features(j, k) = 1.0f;
    targets[j] = values[j] - global_mean - other_bias[col];
  }
  return n;
}

int64_t RowLeastSquares::Gather(const SparseRatings& rows, int64_t row,
                                const FactorMatrix& other_factors,
                                const Eigen::VectorXf& other_bias,
                                float global_mean) {
  const int64_t start = rows.offsets[row];
  const int64_t n = rows.offsets[row + 1] - start;
  return Gather(absl::MakeConstSpan(rows.cols).subspan(start, n),
                absl::MakeConstSpan(rows.values).subspan(start, n),
                other_factors, other_bias, global_mean);
}

int32_t RowLeastSquares::SolveByCg(Eigen::Ref<const Eigen::VectorXf> diagonal,
                                   int32_t steps,
                                   Eigen::Ref<Eigen::VectorXf> x) {
  assert(diagonal.size() == features.cols() && x.size() == features.cols());
  // r = Yᵀ(t − Y x) − D x: the residual in one pass over the rows.
  residuals.noalias() = targets - features * x;
  cg.r.noalias() = features.transpose() * residuals;
  cg.r -= diagonal.cwiseProduct(x);
  return ConjugateGradient(
      [&](const Eigen::VectorXf& p, Eigen::VectorXf& out) {
        residuals.noalias() = features * p;
        out.noalias() = features.transpose() * residuals;
        out += diagonal.cwiseProduct(p);
      },
      steps, &cg, x);
}

int64_t RowLeastSquares::Build(absl::Span<const int32_t> cols,
                               absl::Span<const float> values,
                               Eigen::Ref<const FactorMatrix> other_factors,
                               Eigen::Ref<const Eigen::VectorXf> other_bias,
                               float global_mean,
                               absl::Span<const float> weights) {
  assert(weights.empty() || weights.size() == cols.size());
  const int64_t n =
      Gather(cols, values, other_factors, other_bias, global_mean);
  const Eigen::Index k = other_factors.cols();
  if (!weights.empty()) {
    for (int64_t j = 0; j < n; ++j) {
      // Rows scaled by sqrt(w) make YᵀY and Yᵀt weighted sums.
      const float root = std::sqrt(weights[j]);
      features.row(j) *= root;
      targets[j] *= root;
    }
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

int64_t RowLeastSquares::Build(const SparseRatings& rows, int64_t row,
                               const FactorMatrix& other_factors,
                               const Eigen::VectorXf& other_bias,
                               float global_mean) {
  const int64_t start = rows.offsets[row];
  const int64_t n = rows.offsets[row + 1] - start;
  return Build(absl::MakeConstSpan(rows.cols).subspan(start, n),
               absl::MakeConstSpan(rows.values).subspan(start, n),
               other_factors, other_bias, global_mean);
}

}  // namespace recserve
