#ifndef RECSERVE_CORE_MODEL_ROW_LEAST_SQUARES_H_
#define RECSERVE_CORE_MODEL_ROW_LEAST_SQUARES_H_

// The per-row normal equations of the rating model, which ALS solves, the
// Gibbs sampler draws from and request-time fold-in (user_fold_in.h) solves:
// for one user (or item) with ratings r_j of other-side rows c_j, features
// y_j = [q_{c_j}, 1] and targets t_j = r_j - μ - b_{c_j}, so that solving for
// [p, b] fits the row's factors and bias jointly.

#include <Eigen/Core>
#include <cstdint>

#include "absl/types/span.h"
#include "core/data/sparse_ratings.h"
#include "core/model/conjugate_gradient.h"
#include "core/model/mf_model.h"

namespace recserve {

// Scratch space owned by one worker thread and reused across rows.
struct RowLeastSquares {
  // Row-major, so that gathering a row of the other side is one contiguous
  // copy.
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
      features;             // n x (k+1)
  Eigen::VectorXf targets;  // n
  Eigen::MatrixXf gram;     // (k+1) x (k+1), lower triangle = Yᵀ Y
  Eigen::VectorXf rhs;      // k+1 = Yᵀ t
  // Working memory of SolveByCg.
  Eigen::VectorXf residuals;  // n
  CgScratch cg;

  // Fills gram (lower triangle only) and rhs for the ratings `values` of the
  // other-side rows `cols` (same length; each must index `other_factors` and
  // `other_bias`). `weights`, when not empty (same length, each >= 0),
  // scale each rating's squared error, as that many repeats of it would.
  // Returns the count; no ratings give a zero gram and rhs.
  int64_t Build(absl::Span<const int32_t> cols, absl::Span<const float> values,
                Eigen::Ref<const FactorMatrix> other_factors,
                Eigen::Ref<const Eigen::VectorXf> other_bias, float global_mean,
                absl::Span<const float> weights = {});
  // The same for `row` of `rows`, whose columns index the other side.
  int64_t Build(const SparseRatings& rows, int64_t row,
                const FactorMatrix& other_factors,
                const Eigen::VectorXf& other_bias, float global_mean);

  // Only fills features and targets, as Build does, without the O(n·k²)
  // gram and rhs: what SolveByCg needs. Returns the count.
  int64_t Gather(absl::Span<const int32_t> cols, absl::Span<const float> values,
                 Eigen::Ref<const FactorMatrix> other_factors,
                 Eigen::Ref<const Eigen::VectorXf> other_bias,
                 float global_mean);
  int64_t Gather(const SparseRatings& rows, int64_t row,
                 const FactorMatrix& other_factors,
                 const Eigen::VectorXf& other_bias, float global_mean);

  // After Gather (or Build): improves `x` (k+1 wide, in: the start) towards
  // the solution of (YᵀY + diag(`diagonal`)) x = Yᵀt by at most `steps`
  // conjugate-gradient steps (conjugate_gradient.h), each O(n·k), without
  // forming YᵀY. `diagonal` (k+1 wide) must be >= 0, with YᵀY + diag
  // positive definite. Returns the steps run.
  int32_t SolveByCg(Eigen::Ref<const Eigen::VectorXf> diagonal, int32_t steps,
                    Eigen::Ref<Eigen::VectorXf> x);
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_ROW_LEAST_SQUARES_H_
