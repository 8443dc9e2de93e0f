#include "core/synthetic/synthetic_oracle.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/data/rating_reader.h"
#include "core/data/sparse_ratings.h"
#include "core/data/split.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/item_scorer.h"
#include "core/synthetic/synthetic_events.h"
#include "core/synthetic/synthetic_rng.h"

namespace recserve::synthetic {
namespace {

// A rating rounds to 4 stars or more exactly when the noisy score reaches
// this (round half away from zero: 2 · 3.75 = 7.5 rounds to 8 half stars).
constexpr double kRelevantScore = 3.75;
constexpr int32_t kMaxFactors = 256;

constexpr const char* kRatedFormula =
    "log popularity_i + exposure_taste * p_u.q_i";
constexpr const char* kPositiveEventFormula =
    "log popularity_i + exposure_taste * p_u.q_i + "
    "log(1 - 0.35 * Phi((2 - s_ui) / noise))";
constexpr const char* kRatedRelevantFormula =
    "log popularity_i + exposure_taste * p_u.q_i + "
    "log Phi((s_ui - 3.75) / noise)";

// The generator index of a generated id "1".."n", or -1.
int32_t GeneratorIndex(const std::string& id, size_t n) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(id, &value) || value < 1 ||
      value > static_cast<int64_t>(n)) {
    return -1;
  }
  return static_cast<int32_t>(value - 1);
}

nlohmann::json OrNull(double x) {
  return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json();
}

// Full-ranking metrics from the kRatedRelevant scorer, leave-one-out ones
// from the kRated scorer, on one split.
absl::StatusOr<TopNMetrics> EvaluateProtocol(const OracleModel& model,
                                             const Dataset& all,
                                             const SplitSpec& spec,
                                             const TopNOptions& options) {
  ASSIGN_OR_RETURN(const TrainTest data,
                   SplitDataset(all, spec, /*seed=*/options.seed));
  ASSIGN_OR_RETURN(
      const std::unique_ptr<OracleScorer> relevant,
      OracleScorer::Create(model, data.train, OracleTarget::kRatedRelevant));
  TopNMetrics metrics = EvaluateTopN(*relevant, data.train, data.test, options);
  ASSIGN_OR_RETURN(
      const std::unique_ptr<OracleScorer> rated,
      OracleScorer::Create(model, data.train, OracleTarget::kRated));
  const TopNMetrics loo = EvaluateTopN(*rated, data.train, data.test, options);
  metrics.loo_hr = loo.loo_hr;
  metrics.loo_ndcg = loo.loo_ndcg;
  metrics.loo_users = loo.loo_users;
  return metrics;
}

}  // namespace

double LogNormalCdf(double x) {
  if (std::isnan(x)) return x;
  if (x > 0) return std::log1p(-0.5 * std::erfc(x / std::sqrt(2.0)));
  if (x > -20) return std::log(0.5 * std::erfc(-x / std::sqrt(2.0)));
  if (std::isinf(x)) return -std::numeric_limits<double>::infinity();
  // Φ(x) = φ(x) / −x · (1 − 1/x² + 3/x⁴ − 15/x⁶ + ...); the next term,
  // 105/x⁸, is below 4e-9 here.
  const double r = 1.0 / (x * x);
  return -0.5 * x * x - std::log(-x) - 0.5 * std::log(2.0 * M_PI) +
         std::log1p(r * (-1.0 + r * (3.0 - 15.0 * r)));
}

absl::StatusOr<std::unique_ptr<OracleScorer>> OracleScorer::Create(
    const OracleModel& model, const Dataset& data, OracleTarget target) {
  if (model.items == nullptr || !model.user_taste) {
    return absl::InvalidArgumentError("oracle: no item or user model");
  }
  const int32_t k = model.latent_factors;
  if (k < 1 || k > kMaxFactors) {
    return absl::InvalidArgumentError(absl::StrCat(
        "oracle: latent_factors must be in [1, ", kMaxFactors, "], got ", k));
  }
  const ItemModel& items = *model.items;
  const size_t catalog = items.popularity.size();
  if (items.bias.size() != catalog ||
      items.factors.size() != catalog * static_cast<size_t>(k)) {
    return absl::InvalidArgumentError(
        "oracle: item model sizes do not match latent_factors");
  }
  std::unique_ptr<OracleScorer> scorer(new OracleScorer(model, target));
  const int32_t n = data.num_items();
  scorer->log_popularity_.resize(n);
  scorer->bias_.resize(n);
  scorer->factors_.resize(static_cast<size_t>(n) * k);
  for (int32_t j = 0; j < n; ++j) {
    const int32_t i = GeneratorIndex(data.items.Id(j), catalog);
    if (i < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("oracle: item id \"", data.items.Id(j),
                       "\" is not a generated id in [1, ", catalog, "]"));
    }
    scorer->log_popularity_[j] =
        std::log(static_cast<double>(items.popularity[i]));
    scorer->bias_[j] = items.bias[i];
    for (int32_t d = 0; d < k; ++d) {
      scorer->factors_[static_cast<size_t>(j) * k + d] =
          items.factors[static_cast<size_t>(i) * k + d];
    }
  }
  scorer->user_index_.resize(data.num_users());
  for (int32_t u = 0; u < data.num_users(); ++u) {
    const int32_t g = GeneratorIndex(data.users.Id(u), INT32_MAX);
    if (g < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "oracle: user id \"", data.users.Id(u), "\" is not a generated id"));
    }
    scorer->user_index_[u] = g;
  }
  return scorer;
}

void OracleScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  assert(scores.size() == static_cast<size_t>(num_items()));
  const int32_t k = model_.latent_factors;
  std::array<double, kMaxFactors> p{};
  double base = model_.global_mean;  // μ + b_u; b_u = 0, p_u = 0 if unknown
  if (user >= 0 && user < static_cast<int32_t>(user_index_.size())) {
    base += model_.user_taste(user_index_[user], p.data());
  }
  const double beta = model_.exposure_taste;
  const double sigma = model_.noise;
  const double inverse_sigma = sigma > 0 ? 1.0 / sigma : 0.0;
  for (int32_t j = 0; j < num_items(); ++j) {
    const double* q = &factors_[static_cast<size_t>(j) * k];
    double dot = 0.0;
    for (int32_t d = 0; d < k; ++d) dot += p[d] * q[d];
    const double margin = base + bias_[j] + dot - kRelevantScore;
    double relevant = 0.0;
    if (target_ == OracleTarget::kRatedRelevant) {
      relevant =
          sigma > 0
              ? LogNormalCdf(margin * inverse_sigma)
              : (margin >= 0 ? 0.0 : -std::numeric_limits<double>::infinity());
    } else if (target_ == OracleTarget::kPositiveEvent) {
      relevant = std::log1p(
          -DislikeProbability(margin + kRelevantScore, model_.noise));
    }
    scores[j] = static_cast<float>(log_popularity_[j] + beta * dot + relevant);
  }
}

namespace {

// How the oracle's figures are measured: the trainer's K and negatives, a
// fixed seed and at most kOracleMaxUsers users.
TopNOptions OracleTopNOptions(float relevance_threshold, int32_t threads) {
  TopNOptions options;
  options.k = 10;
  options.relevance_threshold = relevance_threshold;
  options.loo_negatives = 100;
  options.seed = 1;
  options.threads = threads;
  options.max_users = kOracleMaxUsers;
  return options;
}

}  // namespace

absl::StatusOr<nlohmann::json> OracleTopNJson(const OracleModel& model,
                                              const std::string& ratings_path,
                                              int32_t threads) {
  RatingReadOptions read_options;
  read_options.format = RatingFormat::kMlCsv;
  Dataset all;
  RETURN_IF_ERROR(ReadRatings(ratings_path, read_options, &all).status());

  const TopNOptions options = OracleTopNOptions(4.0f, threads);
  nlohmann::json out = {
      {"scorer",
       {{"full_ranking", kRatedRelevantFormula},
        {"leave_one_out", kRatedFormula}}},
      {"k", options.k},
      {"relevance_threshold", options.relevance_threshold},
      {"loo_negatives", options.loo_negatives},
      {"max_users", options.max_users},
      {"seed", options.seed},
  };
  nlohmann::json evaluated = nlohmann::json::object();
  SplitSpec random;
  random.kind = SplitSpec::Kind::kRandom;
  random.fraction = 0.1;
  SplitSpec loo;
  loo.kind = SplitSpec::Kind::kLeaveOneOut;
  for (const auto& [name, spec] :
       {std::pair<const char*, SplitSpec>{"random:0.1", random},
        {"loo", loo}}) {
    ASSIGN_OR_RETURN(const TopNMetrics m,
                     EvaluateProtocol(model, all, spec, options));
    const std::string at = absl::StrCat("@", options.k);
    out[name] = {
        {"precision" + at, OrNull(m.precision)},
        {"recall" + at, OrNull(m.recall)},
        {"ndcg" + at, OrNull(m.ndcg)},
        {"coverage", OrNull(m.coverage)},
        {"hr" + at, OrNull(m.loo_hr)},
        {"loo_ndcg" + at, OrNull(m.loo_ndcg)},
    };
    evaluated[name] = {{"topn_users", m.users}, {"loo_users", m.loo_users}};
  }
  out["evaluated_users"] = std::move(evaluated);
  return out;
}

absl::StatusOr<nlohmann::json> OracleEventsJson(const OracleModel& model,
                                                const std::string& events_path,
                                                int32_t threads) {
  RatingReadOptions read_options;
  read_options.format = RatingFormat::kGeneric;
  read_options.generic_columns = kEventsColumns;
  read_options.feedback = Feedback::kImplicit;
  ASSIGN_OR_RETURN(read_options.events,
                   ParseEventWeights(kEventWeights, kNegativeEvents));
  Dataset all;
  RETURN_IF_ERROR(ReadRatings(events_path, read_options, &all).status());

  constexpr const char* kSplit = "per_user_random:0.2";
  ASSIGN_OR_RETURN(
      const TrainTest data,
      SplitDataset(all, {SplitSpec::Kind::kUserRandom, 0.2}, /*seed=*/1));
  all = Dataset();  // Only the split is needed from here on.
  const TopNOptions options = OracleTopNOptions(0.0f, threads);
  ASSIGN_OR_RETURN(
      const std::unique_ptr<OracleScorer> oracle,
      OracleScorer::Create(model, data.train, OracleTarget::kPositiveEvent));
  const TopNMetrics m = EvaluateTopN(*oracle, data.train, data.test, options);
  const PopularityScorer popularity_scorer(data.train);
  const TopNMetrics popularity =
      EvaluateTopN(popularity_scorer, data.train, data.test, options);
  int64_t negative = 0;
  for (const Rating& r : data.test) negative += r.value < 0;

  const std::string at = absl::StrCat("@", options.k);
  const auto metrics = [&at](const TopNMetrics& t) {
    return nlohmann::json{
        {"precision" + at, OrNull(t.precision)},
        {"recall" + at, OrNull(t.recall)},
        {"ndcg" + at, OrNull(t.ndcg)},
        {"hit_rate" + at, OrNull(t.hit_rate)},
        {"map" + at, OrNull(t.map)},
        {"coverage", OrNull(t.coverage)},
        {"hr" + at, OrNull(t.loo_hr)},
        {"loo_ndcg" + at, OrNull(t.loo_ndcg)},
    };
  };
  return nlohmann::json{
      {"scorer", kPositiveEventFormula},
      {"split", kSplit},
      {"k", options.k},
      {"relevance_threshold", options.relevance_threshold},
      {"loo_negatives", options.loo_negatives},
      {"max_users", options.max_users},
      {"seed", options.seed},
      {"test_interactions", data.test.size()},
      {"test_negative", negative},
      {kSplit, metrics(m)},
      {"popularity", {{kSplit, metrics(popularity)}}},
      {"evaluated_users",
       {{kSplit, {{"topn_users", m.users}, {"loo_users", m.loo_users}}}}},
  };
}

}  // namespace recserve::synthetic
