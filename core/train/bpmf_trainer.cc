#include "core/train/bpmf_trainer.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"
#include "core/data/sparse_ratings.h"
#include "core/model/row_least_squares.h"
#include "core/train/day_bias_sampler.h"
#include "core/train/early_stopping.h"
#include "core/train/ordinal_latents.h"
#include "core/train/posterior_mean.h"

namespace recserve {
namespace {

// After burn-in, an ordinal output's cutpoints are sampled every this many
// sweeps.
constexpr int32_t kCutpointSweeps = 5;

// The most the posterior mean keeps of samples' factors.
constexpr int64_t kPosteriorMeanBytes = int64_t{256} << 20;

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

// The normal equations of each row of one side, kept from SampleSide for the
// implicit-feature step: the data Gramian G_r = Σ d dᵀ over the row's
// ratings (d = [other side's factors, 1]) and h_r = Σ d e, e being the
// residual of each rating under the current sample.
struct RowEquations {
  Eigen::Index width = 0;
  std::vector<float> grams;      // rows x width², each column-major
  std::vector<float> residuals;  // rows x width

  void Resize(int64_t rows, Eigen::Index w) {
    width = w;
    grams.resize(static_cast<size_t>(rows * w * w));
    residuals.resize(static_cast<size_t>(rows * w));
  }
  Eigen::Map<Eigen::MatrixXf> Gram(int64_t row) {
    return Eigen::Map<Eigen::MatrixXf>(grams.data() + row * width * width,
                                       width, width);
  }
  Eigen::Map<Eigen::VectorXf> Residual(int64_t row) {
    return Eigen::Map<Eigen::VectorXf>(residuals.data() + row * width, width);
  }
};

// Row `row` of (factors, bias) as one k+1 vector.
Eigen::VectorXf JoinedRow(const FactorMatrix& factors,
                          const Eigen::VectorXf& bias, int64_t row) {
  const Eigen::Index k = factors.cols();
  Eigen::VectorXf v(k + 1);
  v.head(k) = factors.row(row).transpose();
  v[k] = bias[row];
  return v;
}

// Draws every row of `rows` from its conditional posterior
//   N(A⁻¹ (α Yᵀt + Λ m), A⁻¹),  A = α YᵀY + Λ,
// where t already has the row's implicit offset (`offset_factors`,
// `offset_bias`, when not null) taken out. `equations`, when not null,
// receives each row's Gramian and residual products under the new draw.
void SampleSide(const SparseRatings& rows, const FactorMatrix& other_factors,
                const Eigen::VectorXf& other_bias, float global_mean,
                float noise_precision, const RowPrior& prior, uint64_t seed,
                int32_t threads, const FactorMatrix* offset_factors,
                const Eigen::VectorXf* offset_bias, RowEquations* equations,
                FactorMatrix* factors, Eigen::VectorXf* bias) {
  const Eigen::Index k = other_factors.cols();
  const int32_t workers = ResolveThreads(threads);
  std::vector<RowLeastSquares> scratch(workers);
  ParallelFor(
      rows.rows(), workers,
      [&](int64_t begin, int64_t end, int32_t worker) {
        RowLeastSquares& ls = scratch[worker];
        Eigen::VectorXf z(k + 1), offset = Eigen::VectorXf::Zero(k + 1);
        Eigen::VectorXf data_rhs(k + 1);
        for (int64_t row = begin; row < end; ++row) {
          ls.Build(rows, row, other_factors, other_bias, global_mean);
          if (offset_factors != nullptr) {
            offset = JoinedRow(*offset_factors, *offset_bias, row);
            ls.rhs.noalias() -=
                ls.gram.selfadjointView<Eigen::Lower>() * offset;
          }
          if (equations != nullptr) {
            equations->Gram(row) = ls.gram.selfadjointView<Eigen::Lower>();
          }
          data_rhs = ls.rhs;
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
          if (equations != nullptr) {
            // data_rhs = Σ d (t - dᵀ offset); the residual takes x out too.
            equations->Residual(row) = data_rhs - equations->Gram(row) * x;
          }
        }
      },
      /*chunk=*/16);
}

// The implicit (SVD++-style) terms of one side: row r of the side is
// offset by c_r Σ_{j ∈ N(r)} y_j, where N(r) are the other-side rows it has
// ratings with, c_r = |N(r)|^(-1/2), and y_j (k+1 wide: factors and bias)
// is an embedding of other-side row j as an implicit feature.
// Features from `second_group` on (the side's labels) are a group of
// their own: c_r is then |that group's features of r|^(-1/2) for them.
struct ImplicitTerms {
  FactorMatrix embedding_factors;  // features (other side's rows, labels) x k
  Eigen::VectorXf embedding_bias;
  FactorMatrix offset_factors;  // this side's rows x k
  Eigen::VectorXf offset_bias;
  Eigen::VectorXf weight;  // c_r per row of this side
  int32_t second_group = 0;
  Eigen::VectorXf second_weight;  // c_r of the second group

  float Weight(int64_t row, int32_t feature) const {
    return feature < second_group ? weight[row] : second_weight[row];
  }
};

ImplicitTerms MakeImplicitTerms(const SparseRatings& rows, int32_t features,
                                Eigen::Index k, int32_t second_group) {
  ImplicitTerms t;
  t.embedding_factors = FactorMatrix::Zero(features, k);
  t.embedding_bias = Eigen::VectorXf::Zero(features);
  t.offset_factors = FactorMatrix::Zero(rows.rows(), k);
  t.offset_bias = Eigen::VectorXf::Zero(rows.rows());
  t.second_group = second_group;
  t.weight.resize(rows.rows());
  t.second_weight.resize(rows.rows());
  const auto c = [](int64_t n) {
    return n > 0 ? static_cast<float>(1.0 / std::sqrt(double(n))) : 0.0f;
  };
  for (int32_t r = 0; r < rows.rows(); ++r) {
    int64_t second = 0;
    for (int32_t j : rows.Row(r)) second += j >= t.second_group ? 1 : 0;
    t.weight[r] = c(rows.RowSize(r) - second);
    t.second_weight[r] = c(second);
  }
  return t;
}

// Recomputes every row's offset from the embeddings.
void ComputeOffsets(const SparseRatings& rows, int32_t threads,
                    ImplicitTerms* t) {
  ParallelFor(rows.rows(), ResolveThreads(threads),
              [&](int64_t begin, int64_t end, int32_t) {
                for (int64_t r = begin; r < end; ++r) {
                  t->offset_factors.row(r).setZero();
                  float b = 0.0f;
                  for (int32_t j : rows.Row(static_cast<int32_t>(r))) {
                    const float c = t->Weight(r, j);
                    t->offset_factors.row(r) += c * t->embedding_factors.row(j);
                    b += c * t->embedding_bias[j];
                  }
                  t->offset_bias[r] = b;
                }
              });
}

// Draws each embedding y_j from its conditional posterior, one after another
// as the Gibbs sampler requires (embeddings sharing a row are coupled through
// it). `by_feature` lists, for each feature j, the rows that have it.
// Keeps `equations`' residual products current as embeddings change.
void SampleEmbeddings(const SparseRatings& by_feature, float noise_precision,
                      const RowPrior& prior, uint64_t seed,
                      RowEquations* equations, ImplicitTerms* t) {
  const Eigen::Index w = equations->width, k = w - 1;
  Eigen::MatrixXf data_gram(w, w), precision(w, w);
  Eigen::VectorXf data_rhs(w), rhs(w), old(w), z(w), delta(w);
  for (int32_t j = 0; j < by_feature.rows(); ++j) {
    const absl::Span<const int32_t> rows = by_feature.Row(j);
    old = JoinedRow(t->embedding_factors, t->embedding_bias, j);
    data_gram.setZero();
    data_rhs.setZero();
    for (int32_t r : rows) {
      const float c = t->Weight(r, j);
      data_gram.noalias() += (c * c) * equations->Gram(r);
      data_rhs.noalias() += c * equations->Residual(r);
    }
    // The targets are the residuals with y_j's own part added back.
    data_rhs.noalias() += data_gram * old;
    precision = noise_precision * data_gram;
    precision.diagonal() += prior.precision;
    rhs = noise_precision * data_rhs + prior.precision.cwiseProduct(prior.mean);
    Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt(precision);
    // The third argument keeps these streams apart from the rows' streams.
    RandomStream random(seed, static_cast<uint64_t>(j), /*b=*/1);
    for (Eigen::Index d = 0; d < w; ++d)
      z[d] = static_cast<float>(random.Normal());
    const Eigen::VectorXf y = llt.solve(rhs) + llt.matrixU().solve(z);
    delta = y - old;
    t->embedding_factors.row(j) = y.head(k).transpose();
    t->embedding_bias[j] = y[k];
    for (int32_t r : rows) {
      const float c = t->Weight(r, j);
      equations->Residual(r).noalias() -= c * (equations->Gram(r) * delta);
    }
  }
}

// The transpose of `rows`: for each of `features` columns, the rows having it.
SparseRatings RowsByFeature(const SparseRatings& rows, int32_t features) {
  SparseRatings out;
  out.offsets.assign(static_cast<size_t>(features) + 1, 0);
  for (int32_t c : rows.cols) ++out.offsets[c + 1];
  for (int32_t f = 0; f < features; ++f) out.offsets[f + 1] += out.offsets[f];
  out.cols.resize(rows.cols.size());
  out.values.assign(rows.cols.size(), 0.0f);
  std::vector<int64_t> next(out.offsets.begin(), out.offsets.end() - 1);
  for (int32_t r = 0; r < rows.rows(); ++r) {
    for (int32_t c : rows.Row(r)) out.cols[next[c]++] = r;
  }
  return out;
}

// A side's implicit features: row r lists the other side's rows it has
// ratings with (`by_row`'s columns), then first_label + l for each label l
// of r. Its values are unused.
SparseRatings WithLabels(const SparseRatings& by_row, int32_t first_label,
                         absl::Span<const std::vector<int32_t>> labels) {
  SparseRatings out;
  out.offsets.push_back(0);
  for (int32_t r = 0; r < by_row.rows(); ++r) {
    const absl::Span<const int32_t> rated = by_row.Row(r);
    out.cols.insert(out.cols.end(), rated.begin(), rated.end());
    if (static_cast<size_t>(r) < labels.size()) {
      for (int32_t l : labels[r]) out.cols.push_back(first_label + l);
    }
    out.offsets.push_back(static_cast<int64_t>(out.cols.size()));
  }
  out.values.assign(out.cols.size(), 0.0f);
  return out;
}

// The number of labels `labels` uses (its largest index + 1, 0 for none).
// Errors: InvalidArgument for an index that is negative or not below the
// number of entries (labels are numbered densely).
absl::StatusOr<int32_t> CountLabels(
    absl::Span<const std::vector<int32_t>> labels, absl::string_view side) {
  int64_t entries = 0;
  for (const std::vector<int32_t>& row : labels) entries += row.size();
  int32_t count = 0;
  for (const std::vector<int32_t>& row : labels) {
    for (int32_t l : row) {
      if (l < 0 || l >= entries) {
        return absl::InvalidArgumentError(
            absl::StrCat("bpmf: ", side, " label index ", l, " is not in [0, ",
                         entries, ")"));
      }
      count = std::max(count, l + 1);
    }
  }
  return count;
}

// One side's implicit features (the other side's rows it rated, then its
// labels) and, per feature, the rows that have it. Without labels these
// are the ratings themselves (`by_row` and its transpose), not copies.
struct SideFeatures {
  const SparseRatings* features = nullptr;
  const SparseRatings* rows_by_feature = nullptr;
  int32_t count = 0;  // features: the other side's rows plus the labels
  SparseRatings own_features, own_rows_by_feature;  // with labels
};

// `by_row` and `by_other` are the ratings by this side's and the other
// side's rows; both must outlive the result, which must not be moved.
void MakeSideFeatures(const SparseRatings& by_row,
                      const SparseRatings& by_other,
                      absl::Span<const std::vector<int32_t>> labels,
                      int32_t label_count, SideFeatures* f) {
  const int32_t other_rows = by_other.rows();
  f->count = other_rows + label_count;
  if (label_count == 0) {
    f->features = &by_row;
    f->rows_by_feature = &by_other;
    return;
  }
  f->own_features = WithLabels(by_row, other_rows, labels);
  f->own_rows_by_feature = RowsByFeature(f->own_features, f->count);
  f->features = &f->own_features;
  f->rows_by_feature = &f->own_rows_by_feature;
}

// `own` plus the implicit offsets: the rows predictions use.
void AddOffsets(const FactorMatrix& own_factors,
                const Eigen::VectorXf& own_bias, const ImplicitTerms& t,
                FactorMatrix* factors, Eigen::VectorXf* bias) {
  *factors = own_factors + t.offset_factors;
  *bias = own_bias + t.offset_bias;
}

double SumSquaredError(const MfModel& model, absl::Span<const Rating> ratings) {
  double sse = 0.0;
  for (const Rating& r : ratings) {
    const double e = r.value - model.Score(r.user, r.item);
    sse += e * e;
  }
  return sse;
}

// The prior a user folded in at request time gets: per dimension of the
// published user rows (their factors, then their bias), the rows' mean and
// precision, in the units of the fold-in equations (divided by the noise
// precision). The published rows are what a folded-in user must resemble:
// they include the implicit terms, and their dimensions are the posterior
// mean's, not any sample's.
RatingUserPrior PriorOfRows(const MfModel& model, double noise_precision) {
  const Eigen::Index k = model.factors();
  RatingUserPrior prior;
  prior.mean.resize(k + 1);
  prior.precision.resize(k + 1);
  const double n = std::max(1, model.num_users());
  for (Eigen::Index d = 0; d <= k; ++d) {
    double sum = 0.0, sum_sq = 0.0;
    for (int32_t u = 0; u < model.num_users(); ++u) {
      const double v = d < k ? model.user_factors(u, d) : model.user_bias[u];
      sum += v;
      sum_sq += v * v;
    }
    const double mean = sum / n;
    const double variance = std::max(sum_sq / n - mean * mean, 1e-6);
    prior.mean[d] = static_cast<float>(mean);
    prior.precision[d] =
        static_cast<float>(1.0 / (variance * std::max(noise_precision, 1e-6)));
  }
  prior.scales_with_count = false;
  return prior;
}

// Sets each entry of `rows` to its target (the rating's value, or its
// latent when `latents` are given) less that rating's offset, if any.
void SetTargets(absl::Span<const Rating> fit, const OrdinalLatents* latents,
                const RatingPositions& positions,
                const std::vector<float>* offsets, SparseRatings* rows) {
  for (size_t p = 0; p < positions.positions.size(); ++p) {
    const int64_t r = positions.positions[p];
    const float target =
        latents != nullptr ? latents->values()[r] : fit[r].value;
    rows->values[p] = target - (offsets != nullptr ? (*offsets)[r] : 0.0f);
  }
}

absl::Status ValidateOptions(const BpmfOptions& o, int32_t sweeps) {
  if (o.factors < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bpmf: factors must be >= 1, got %d", o.factors));
  }
  if (o.averaged_samples < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bpmf: averaged samples must be >= 1, got %d", o.averaged_samples));
  }
  if (o.sweeps < 0 || o.burn_in < 0 || o.burn_in >= sweeps) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bpmf: need 0 <= burn-in < sweeps (epochs), got burn-in %d and %d "
        "sweeps",
        o.burn_in, sweeps));
  }
  return absl::OkStatus();
}

}  // namespace

int32_t ResolveSweeps(const BpmfOptions& options, int64_t ratings) {
  if (options.sweeps > 0) return options.sweeps;
  const int64_t by_size = kAutoSweepRatings / std::max<int64_t>(ratings, 1);
  return static_cast<int32_t>(
      std::clamp<int64_t>(by_size, kMinAutoSweeps, kMaxAutoSweeps));
}

absl::StatusOr<TrainResult> TrainBpmf(int32_t num_users, int32_t num_items,
                                      absl::Span<const Rating> fit,
                                      absl::Span<const Rating> valid,
                                      const RatingScale& scale,
                                      const BpmfOptions& options,
                                      const EpochCallback& on_epoch,
                                      const BpmfLabels& labels) {
  const int32_t sweeps = ResolveSweeps(options, fit.size());
  RETURN_IF_ERROR(ValidateOptions(options, sweeps));
  RETURN_IF_ERROR(
      ValidateTrainingRatings("bpmf", num_users, num_items, fit, valid));
  const auto start = std::chrono::steady_clock::now();
  // The rows' ratings, less the day biases when there are any.
  SparseRatings by_user = GroupRatings(fit, num_users, RatingAxis::kUser);
  SparseRatings by_item = GroupRatings(fit, num_items, RatingAxis::kItem);
  const RatingPositions user_positions =
      GroupRatingPositions(fit, num_users, RatingAxis::kUser);
  const RatingPositions item_positions =
      GroupRatingPositions(fit, num_items, RatingAxis::kItem);
  std::optional<DayBiasSampler> days;
  std::vector<float> residuals;
  if (options.day_biases) {
    days.emplace(fit);
    residuals.resize(fit.size());
  }
  // With the ordinal output: the latents, and each rating's whole score.
  std::optional<OrdinalLatents> latents;
  std::vector<float> scores;
  if (options.ordinal_output) {
    // Ratings off the scale's values (real-valued ones) keep the Gaussian
    // output.
    if (absl::StatusOr<OrdinalLatents> made =
            OrdinalLatents::Create(fit, scale);
        made.ok()) {
      latents = *std::move(made);
    }
  }
  if (latents) scores.resize(fit.size());
  const OrdinalLatents* targets = latents ? &*latents : nullptr;

  MfModel sample = StartingModel(num_users, num_items, options.factors,
                                 options.init_stddev, options.seed, scale, fit);
  PosteriorMean posterior(
      AffordableSamples(options.averaged_samples,
                        int64_t{num_users} + num_items, options.factors,
                        kPosteriorMeanBytes),
      sweeps - options.burn_in);
  int32_t kept = 0;

  std::mt19937_64 rng(options.seed);
  float noise_precision = 2.0f;
  const Eigen::Index k = options.factors;
  const bool implicit_terms = options.implicit_terms;
  // Without implicit terms the effective rows are the sampled rows.
  MfModel effective = sample;
  ImplicitTerms user_terms, item_terms;
  RowEquations user_equations, item_equations;
  // Each side's implicit features: the other side's rows it rated, then
  // its labels when used (a group of their own, |L(r)|^(-1/2): on
  // MovieLens 100K, sharing |N(i) ∪ L(i)|^(-1/2) with the users measured
  // worse).
  SideFeatures user_features, item_features;
  if (implicit_terms) {
    ASSIGN_OR_RETURN(const int32_t user_label_count,
                     CountLabels(labels.users, "user"));
    ASSIGN_OR_RETURN(const int32_t item_label_count,
                     CountLabels(labels.items, "item"));
    MakeSideFeatures(by_user, by_item, labels.users,
                     options.user_labels ? user_label_count : 0,
                     &user_features);
    MakeSideFeatures(by_item, by_user, labels.items,
                     options.item_labels ? item_label_count : 0,
                     &item_features);
    user_terms =
        MakeImplicitTerms(*user_features.features, user_features.count, k,
                          /*second_group=*/num_items);
    item_terms =
        MakeImplicitTerms(*item_features.features, item_features.count, k,
                          /*second_group=*/num_users);
    user_equations.Resize(num_users, k + 1);
    item_equations.Resize(num_items, k + 1);
  }
  // The noise precision averaged over the kept sweeps, for the fold-in
  // prior.
  double noise_precision_sum = 0.0;
  std::vector<EpochStats> history;
  for (int32_t sweep = 1; sweep <= sweeps; ++sweep) {
    const uint64_t sweep_seed = options.seed * 0x9e3779b97f4a7c15ull + sweep;
    RowPrior user_prior =
        SamplePrior(sample.user_factors, sample.user_bias, rng);
    if (!implicit_terms) {
      SampleSide(by_user, sample.item_factors, sample.item_bias,
                 sample.global_mean, noise_precision, user_prior,
                 sweep_seed * 2, options.threads, nullptr, nullptr, nullptr,
                 &sample.user_factors, &sample.user_bias);
    } else {
      SampleSide(by_user, effective.item_factors, effective.item_bias,
                 sample.global_mean, noise_precision, user_prior,
                 sweep_seed * 2, options.threads, &user_terms.offset_factors,
                 &user_terms.offset_bias, &user_equations, &sample.user_factors,
                 &sample.user_bias);
      const RowPrior embedding_prior = SamplePrior(
          user_terms.embedding_factors, user_terms.embedding_bias, rng);
      SampleEmbeddings(*user_features.rows_by_feature, noise_precision,
                       embedding_prior, sweep_seed * 4 + 2, &user_equations,
                       &user_terms);
      ComputeOffsets(*user_features.features, options.threads, &user_terms);
      AddOffsets(sample.user_factors, sample.user_bias, user_terms,
                 &effective.user_factors, &effective.user_bias);
    }
    if (sweep > options.burn_in) noise_precision_sum += noise_precision;
    RowPrior item_prior =
        SamplePrior(sample.item_factors, sample.item_bias, rng);
    if (!implicit_terms) {
      SampleSide(by_item, sample.user_factors, sample.user_bias,
                 sample.global_mean, noise_precision, item_prior,
                 sweep_seed * 2 + 1, options.threads, nullptr, nullptr, nullptr,
                 &sample.item_factors, &sample.item_bias);
      effective = sample;
    } else {
      SampleSide(by_item, effective.user_factors, effective.user_bias,
                 sample.global_mean, noise_precision, item_prior,
                 sweep_seed * 2 + 1, options.threads,
                 &item_terms.offset_factors, &item_terms.offset_bias,
                 &item_equations, &sample.item_factors, &sample.item_bias);
      const RowPrior embedding_prior = SamplePrior(
          item_terms.embedding_factors, item_terms.embedding_bias, rng);
      SampleEmbeddings(*item_features.rows_by_feature, noise_precision,
                       embedding_prior, sweep_seed * 4 + 3, &item_equations,
                       &item_terms);
      ComputeOffsets(*item_features.features, options.threads, &item_terms);
      AddOffsets(sample.item_factors, sample.item_bias, item_terms,
                 &effective.item_factors, &effective.item_bias);
    }
    double sse = 0.0;
    if (days) {
      ParallelFor(
          static_cast<int64_t>(fit.size()), ResolveThreads(options.threads),
          [&](int64_t begin, int64_t end, int32_t) {
            for (int64_t r = begin; r < end; ++r) {
              const float target =
                  targets != nullptr ? targets->values()[r] : fit[r].value;
              residuals[r] = target -
                             effective.Score(fit[r].user, fit[r].item) -
                             days->offsets()[r];
            }
          });
      days->Sample(noise_precision, rng, &residuals);
      for (float e : residuals) sse += double{e} * e;
      if (sweep > options.burn_in) days->Accumulate();
    } else if (latents) {
      // The scores once, for the noise here and the latents below.
      ParallelFor(static_cast<int64_t>(fit.size()),
                  ResolveThreads(options.threads),
                  [&](int64_t begin, int64_t end, int32_t) {
                    for (int64_t r = begin; r < end; ++r) {
                      scores[r] = effective.Score(fit[r].user, fit[r].item);
                    }
                  });
      for (size_t r = 0; r < fit.size(); ++r) {
        const double e = double{latents->values()[r]} - scores[r];
        sse += e * e;
      }
    } else {
      sse = SumSquaredError(effective, fit);
    }
    std::gamma_distribution<double> gamma(1.0 + fit.size() / 2.0,
                                          1.0 / (1.0 + sse / 2.0));
    noise_precision = static_cast<float>(gamma(rng));
    if (latents) {
      if (days) {
        // The residuals already hold target − the whole score, the new day
        // offsets included.
        ParallelFor(static_cast<int64_t>(fit.size()),
                    ResolveThreads(options.threads),
                    [&](int64_t begin, int64_t end, int32_t) {
                      for (int64_t r = begin; r < end; ++r) {
                        scores[r] = latents->values()[r] - residuals[r];
                      }
                    });
      }
      const bool kept_sweep = sweep > options.burn_in;
      // After burn-in the cutpoints barely move (each is pinned by the
      // thousands of ratings on either side), so they are sampled every few
      // sweeps: the Metropolis steps cost more than the latents.
      if (!kept_sweep || sweep % kCutpointSweeps == 0) {
        latents->SampleCutpoints(scores, noise_precision, sweep_seed,
                                 options.threads, /*adapt=*/!kept_sweep);
      }
      if (kept_sweep) {
        latents->Accumulate(scores,
                            days ? absl::Span<const float>(days->offsets())
                                 : absl::Span<const float>(),
                            noise_precision);
      }
      latents->Sample(scores, noise_precision, sweep_seed, options.threads);
    }
    if (days || latents) {
      const std::vector<float>* offsets = days ? &days->offsets() : nullptr;
      SetTargets(fit, targets, user_positions, offsets, &by_user);
      SetTargets(fit, targets, item_positions, offsets, &by_item);
    }

    if (sweep > options.burn_in) {
      ++kept;
      posterior.Add(effective);
    }
    // Each sweep reports its own sample (without its day biases); the last
    // reports the returned model.
    if (sweep < sweeps) {
      const EpochStats stats =
          MeasureEpoch(sweep, effective, fit, valid, options.threads, start);
      history.push_back(stats);
      if (on_epoch) on_epoch(stats);
    }
  }
  ASSIGN_OR_RETURN(MfModel mean, posterior.Model(options.factors));
  if (days) days->PublishMean(&mean);
  if (!mean.user_factors.allFinite() || !mean.item_factors.allFinite() ||
      !mean.user_bias.allFinite() || !mean.item_bias.allFinite()) {
    return absl::InternalError(
        "bpmf: the sampler diverged (non-finite factors); try fewer factors");
  }
  if (latents) {
    absl::StatusOr<OrdinalOutput> output = latents->Output(scale);
    if (!output.ok()) {
      return absl::InternalError(
          absl::StrCat("bpmf: ", output.status().message()));
    }
    mean.ordinal = *std::move(output);
  }
  const EpochStats stats =
      MeasureEpoch(sweeps, mean, fit, valid, options.threads, start);
  history.push_back(stats);
  if (on_epoch) on_epoch(stats);
  TrainResult result;
  result.model = std::move(mean);
  result.best_epoch = sweeps;
  result.best_valid_rmse = history.back().valid_rmse;
  result.history = std::move(history);
  result.seconds = SecondsSince(start);
  result.user_prior = PriorOfRows(result.model, noise_precision_sum / kept);
  return result;
}

}  // namespace recserve
