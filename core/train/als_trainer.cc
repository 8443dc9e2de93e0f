#include "core/train/als_trainer.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "core/base/parallel_for.h"
#include "core/base/status_macros.h"
#include "core/data/sparse_ratings.h"
#include "core/model/row_least_squares.h"
#include "core/train/warm_start.h"

namespace recserve {
namespace {

// Solves every row of `rows` (users or items) given the other side's factors
// and biases: for row r with n ratings, [x_r, b_r] minimizes
//   Σ (t - x_r·y - b_r)² + n (reg |x_r|² + bias_reg b_r²),
// where t = rating - μ - other_bias.
void SolveSide(const SparseRatings& rows, const FactorMatrix& other_factors,
               const Eigen::VectorXf& other_bias, float global_mean,
               const AlsOptions& options, FactorMatrix* factors,
               Eigen::VectorXf* bias) {
  const Eigen::Index k = other_factors.cols();
  const int32_t workers = ResolveThreads(options.threads);
  const bool exact =
      options.cg_steps == 0 || options.factors < kMinConjugateGradientFactors;
  struct Scratch {
    RowLeastSquares ls;
    Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt;
    Eigen::VectorXf x;
    Eigen::VectorXf diagonal;
  };
  std::vector<Scratch> scratch(workers);
  ParallelFor(
      rows.rows(), workers,
      [&](int64_t begin, int64_t end, int32_t worker) {
        Scratch& s = scratch[worker];
        RowLeastSquares& ls = s.ls;
        for (int64_t row = begin; row < end; ++row) {
          const int64_t n = exact ? ls.Build(rows, row, other_factors,
                                             other_bias, global_mean)
                                  : ls.Gather(rows, row, other_factors,
                                              other_bias, global_mean);
          if (n == 0) {
            factors->row(row).setZero();
            (*bias)[row] = 0.0f;
            continue;
          }
          const float count = static_cast<float>(n);
          if (exact) {
            ls.gram.diagonal().head(k).array() += options.reg * count;
            ls.gram(k, k) += options.bias_reg * count;
            s.llt.compute(ls.gram);
            s.x = ls.rhs;
            s.llt.solveInPlace(s.x);
          } else {
            s.diagonal.resize(k + 1);
            s.diagonal.head(k).setConstant(options.reg * count);
            s.diagonal[k] = options.bias_reg * count;
            s.x.resize(k + 1);
            s.x.head(k) = factors->row(row).transpose();
            s.x[k] = (*bias)[row];
            ls.SolveByCg(s.diagonal, options.cg_steps, s.x);
          }
          factors->row(row) = s.x.head(k).transpose();
          (*bias)[row] = s.x[k];
        }
      },
      /*chunk=*/16);
}

absl::Status ValidateOptions(const AlsOptions& o) {
  if (o.factors < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("als: factors must be >= 1, got %d", o.factors));
  }
  if (o.max_iterations < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("als: epochs must be >= 1, got %d", o.max_iterations));
  }
  if (o.cg_steps < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "als: conjugate-gradient steps must be >= 0, got %d", o.cg_steps));
  }
  if (!(o.reg > 0) || !(o.bias_reg >= 0) || !std::isfinite(o.reg) ||
      !std::isfinite(o.bias_reg)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("als: reg must be > 0 and bias reg >= 0, got %g and %g",
                        o.reg, o.bias_reg));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainResult> TrainAls(int32_t num_users, int32_t num_items,
                                     absl::Span<const Rating> fit,
                                     absl::Span<const Rating> valid,
                                     const RatingScale& scale,
                                     const AlsOptions& options,
                                     const EpochCallback& on_epoch,
                                     const MfModel* from) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(
      ValidateTrainingRatings("als", num_users, num_items, fit, valid));
  const auto start = std::chrono::steady_clock::now();
  const SparseRatings by_user = GroupRatings(fit, num_users, RatingAxis::kUser);
  const SparseRatings by_item = GroupRatings(fit, num_items, RatingAxis::kItem);

  MfModel model = StartingModel(num_users, num_items, options.factors,
                                options.init_stddev, options.seed, scale, fit);
  if (from != nullptr) RETURN_IF_ERROR(WarmStart(*from, &model));

  EarlyStopper stopper(options.early_stopping,
                       valid.empty() ? EarlyStopper::ValidationSet::kAbsent
                                     : EarlyStopper::ValidationSet::kPresent);
  std::vector<EpochStats> history;
  // Users that start at zero (a start from items alone, warm_start.h) are
  // solved exactly first: CG steps from zero would hand the item step rough
  // users and pull the items away from where they started.
  const bool users_from_zero =
      from != nullptr && from->user_factors.isZero(0.0f);
  AlsOptions exact_first = options;
  exact_first.cg_steps = 0;
  for (int32_t epoch = 1; epoch <= options.max_iterations; ++epoch) {
    SolveSide(by_user, model.item_factors, model.item_bias, model.global_mean,
              epoch == 1 && users_from_zero ? exact_first : options,
              &model.user_factors, &model.user_bias);
    SolveSide(by_item, model.user_factors, model.user_bias, model.global_mean,
              options, &model.item_factors, &model.item_bias);
    const EpochStats stats =
        MeasureEpoch(epoch, model, fit, valid, options.threads, start);
    history.push_back(stats);
    if (on_epoch) on_epoch(stats);
    if (stopper.Update(stats, model)) break;
  }
  const double seconds = SecondsSince(start);
  TrainResult result = std::move(stopper).Finish(std::move(history), seconds);
  result.user_prior =
      RatingUserPrior::Ridge(options.factors, options.reg, options.bias_reg);
  return result;
}

}  // namespace recserve
