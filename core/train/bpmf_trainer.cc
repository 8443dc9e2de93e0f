#include "core/train/bpmf_trainer.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"
#include "core/data/sparse_ratings.h"
#include "core/model/row_least_squares.h"

namespace recserve {
namespace {

// The diagonal Gaussian prior of one side's rows: per dimension (the last
// one is the bias) a mean and a precision.
struct RowPrior {
  Eigen::VectorXf mean;
  Eigen::VectorXf precision;
};

// Draws (mean_d, precision_d) for every dimension from the Normal-Gamma
// posterior given the current rows, with a weak Normal-Gamma(0, β0=1, a0=1,
// b0=1) hyperprior.
RowPrior SamplePrior(const FactorMatrix& factors, const Eigen::VectorXf& bias,
                     std::mt19937_64& rng) {
  const Eigen::Index k = factors.cols();
  const double n = static_cast<double>(factors.rows());
  constexpr double kBeta0 = 1.0, kA0 = 1.0, kB0 = 1.0;
  RowPrior prior{Eigen::VectorXf(k + 1), Eigen::VectorXf(k + 1)};
  for (Eigen::Index d = 0; d <= k; ++d) {
    double sum = 0.0, sum_sq = 0.0;
    for (Eigen::Index r = 0; r < factors.rows(); ++r) {
      const double v = d < k ? factors(r, d) : bias[r];
      sum += v;
      sum_sq += v * v;
    }
    const double avg = n > 0 ? sum / n : 0.0;
    const double scatter = sum_sq - n * avg * avg;
    const double beta_n = kBeta0 + n;
    const double a_n = kA0 + n / 2.0;
    const double b_n = kB0 + 0.5 * (scatter + kBeta0 * n * avg * avg / beta_n);
    std::gamma_distribution<double> gamma(a_n, 1.0 / b_n);
    const double precision = gamma(rng);
    std::normal_distribution<double> normal(
        sum / beta_n, 1.0 / std::sqrt(beta_n * precision));
    prior.precision[d] = static_cast<float>(precision);
    prior.mean[d] = static_cast<float>(normal(rng));
  }
  return prior;
}

// Draws every row of `rows` from its conditional posterior
//   N(A⁻¹ (α Yᵀt + Λ m), A⁻¹),  A = α YᵀY + Λ.
void SampleSide(const SparseRatings& rows, const FactorMatrix& other_factors,
                const Eigen::VectorXf& other_bias, float global_mean,
                float noise_precision, const RowPrior& prior, uint64_t seed,
                int32_t threads, FactorMatrix* factors, Eigen::VectorXf* bias) {
  const Eigen::Index k = other_factors.cols();
  const int32_t workers = ResolveThreads(threads);
  std::vector<RowLeastSquares> scratch(workers);
  ParallelFor(
      rows.rows(), workers,
      [&](int64_t begin, int64_t end, int32_t worker) {
        RowLeastSquares& ls = scratch[worker];
        Eigen::VectorXf z(k + 1);
        for (int64_t row = begin; row < end; ++row) {
          ls.Build(rows, row, other_factors, other_bias, global_mean);
          ls.gram *= noise_precision;
          ls.gram.diagonal() += prior.precision;
          ls.rhs *= noise_precision;
          ls.rhs += prior.precision.cwiseProduct(prior.mean);
          Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt(ls.gram);
          RandomStream random(seed, static_cast<uint64_t>(row));
          for (Eigen::Index d = 0; d <= k; ++d)
            z[d] = static_cast<float>(random.Normal());
          // With A = L Lᵀ, L⁻ᵀ z has covariance A⁻¹.
          const Eigen::VectorXf x = llt.solve(ls.rhs) + llt.matrixU().solve(z);
          factors->row(row) = x.head(k).transpose();
          (*bias)[row] = x[k];
        }
      },
      /*chunk=*/16);
}

double SumSquaredError(const MfModel& model, absl::Span<const Rating> ratings) {
  double sse = 0.0;
  for (const Rating& r : ratings) {
    const double e = r.value - model.Score(r.user, r.item);
    sse += e * e;
  }
  return sse;
}

absl::Status ValidateOptions(const BpmfOptions& o) {
  if (o.factors < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bpmf: factors must be >= 1, got %d", o.factors));
  }
  if (o.sweeps < 1 || o.burn_in < 0 || o.burn_in >= o.sweeps) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bpmf: need 0 <= burn-in < sweeps (epochs), got burn-in %d and %d "
        "sweeps",
        o.burn_in, o.sweeps));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainResult> TrainBpmf(int32_t num_users, int32_t num_items,
                                      absl::Span<const Rating> fit,
                                      absl::Span<const Rating> valid,
                                      const RatingScale& scale,
                                      const BpmfOptions& options,
                                      const EpochCallback& on_epoch) {
  RETURN_IF_ERROR(ValidateOptions(options));
  RETURN_IF_ERROR(
      ValidateTrainingRatings("bpmf", num_users, num_items, fit, valid));
  const auto start = std::chrono::steady_clock::now();
  const SparseRatings by_user = GroupRatings(fit, num_users, RatingAxis::kUser);
  const SparseRatings by_item = GroupRatings(fit, num_items, RatingAxis::kItem);

  MfModel sample = StartingModel(num_users, num_items, options.factors,
                                 options.init_stddev, options.seed, scale, fit);
  // Running sums of the kept samples; factors drawn with σ = 0 are zeros.
  MfModel sum =
      StartingModel(num_users, num_items, options.factors, 0.0f, 0, scale, fit);
  MfModel mean = sum;
  int32_t kept = 0;

  std::mt19937_64 rng(options.seed);
  float noise_precision = 2.0f;
  // The user prior, averaged over the kept sweeps like the factors, in the
  // units of the posterior mean's equations divided by the noise precision.
  Eigen::VectorXd prior_mean_sum = Eigen::VectorXd::Zero(options.factors + 1);
  Eigen::VectorXd prior_precision_sum =
      Eigen::VectorXd::Zero(options.factors + 1);
  std::vector<EpochStats> history;
  for (int32_t sweep = 1; sweep <= options.sweeps; ++sweep) {
    const uint64_t sweep_seed = options.seed * 0x9e3779b97f4a7c15ull + sweep;
    RowPrior user_prior =
        SamplePrior(sample.user_factors, sample.user_bias, rng);
    SampleSide(by_user, sample.item_factors, sample.item_bias,
               sample.global_mean, noise_precision, user_prior, sweep_seed * 2,
               options.threads, &sample.user_factors, &sample.user_bias);
    if (sweep > options.burn_in) {
      prior_mean_sum += user_prior.mean.cast<double>();
      prior_precision_sum +=
          user_prior.precision.cast<double>() / double{noise_precision};
    }
    RowPrior item_prior =
        SamplePrior(sample.item_factors, sample.item_bias, rng);
    SampleSide(by_item, sample.user_factors, sample.user_bias,
               sample.global_mean, noise_precision, item_prior,
               sweep_seed * 2 + 1, options.threads, &sample.item_factors,
               &sample.item_bias);
    const double sse = SumSquaredError(sample, fit);
    std::gamma_distribution<double> gamma(1.0 + fit.size() / 2.0,
                                          1.0 / (1.0 + sse / 2.0));
    noise_precision = static_cast<float>(gamma(rng));

    const MfModel* reported = &sample;
    if (sweep > options.burn_in) {
      ++kept;
      sum.user_factors += sample.user_factors;
      sum.item_factors += sample.item_factors;
      sum.user_bias += sample.user_bias;
      sum.item_bias += sample.item_bias;
      const float inv = 1.0f / kept;
      mean.user_factors = sum.user_factors * inv;
      mean.item_factors = sum.item_factors * inv;
      mean.user_bias = sum.user_bias * inv;
      mean.item_bias = sum.item_bias * inv;
      reported = &mean;
    }
    const EpochStats stats =
        MeasureEpoch(sweep, *reported, fit, valid, options.threads, start);
    history.push_back(stats);
    if (on_epoch) on_epoch(stats);
  }
  TrainResult result;
  result.model = std::move(mean);
  result.best_epoch = options.sweeps;
  result.best_valid_rmse = history.back().valid_rmse;
  result.history = std::move(history);
  result.seconds = SecondsSince(start);
  result.user_prior.mean = (prior_mean_sum / kept).cast<float>();
  result.user_prior.precision = (prior_precision_sum / kept).cast<float>();
  result.user_prior.scales_with_count = false;
  return result;
}

}  // namespace recserve
