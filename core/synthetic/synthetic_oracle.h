#ifndef RECSERVE_CORE_SYNTHETIC_SYNTHETIC_ORACLE_H_
#define RECSERVE_CORE_SYNTHETIC_SYNTHETIC_ORACLE_H_

// The oracle of the synthetic generator: the recommender that knows the
// hidden model, and the top-N metrics it reaches on the generated data, which
// the generator writes to truth.json (core/synthetic/synthetic_generator.h).
// Internal to GenerateSyntheticData; not for other callers.
//
// The oracle ranks the items of user u by the log-probability of the event
// each metric counts as a hit. Full-ranking metrics count held-out items
// rated relevant (>= 4 stars), so there it scores P(u rates i AND rates it
// relevant):
//
//   score(u, i) = log popularity_i + β p_u·q_i + log Φ((s_ui − 3.75) / σ)
//
// Leave-one-out metrics count the held-out item whatever its rating, so there
// it scores P(u rates i), the first two terms alone. On generated events
// (GeneratorOptions::events) every positive interaction is relevant, so it
// scores P(u interacts with i and does not dislike it): the first two terms
// plus log(1 − DislikeProbability(s_ui, σ)).
//
// The first two terms are the log of the exposure weight
// P(rated) ∝ popularity_i · exp(β p_u·q_i) (β = exposure_taste); the last is
// the log of P(rating >= 4 | rated): a rating rounds to 4 stars or more
// exactly when s_ui + σZ >= 3.75, with s_ui = μ + b_u + b_i + p_u·q_i the
// noise-free score. log Φ is computed without underflow for any argument
// (an asymptotic series far in the lower tail). With σ = 0 the last term is
// a hard step: 0 when s_ui >= 3.75, −∞ otherwise (all such items tie).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/data/split.h"
#include "core/model/item_scorer.h"
#include "core/synthetic/synthetic_catalog.h"
#include "nlohmann/json.hpp"

namespace recserve::synthetic {

// At most this many users are evaluated per protocol (TopNOptions::max_users,
// a seeded uniform sample), so that the oracle's cost on big data is bounded
// by the catalog size rather than the number of users.
inline constexpr int32_t kOracleMaxUsers = 5000;

// The hidden model, as the oracle needs it.
struct OracleModel {
  // The catalog; index = item id - 1. Borrowed: must outlive every use.
  const ItemModel* items = nullptr;
  int32_t latent_factors = 1;
  double noise = 0.0;           // σ >= 0
  double exposure_taste = 0.0;  // β >= 0
  double global_mean = 0.0;     // μ
  // The taste of generator user `user` (index = user id - 1): writes p_u to
  // factors[0, latent_factors) and returns b_u. Called concurrently from
  // several threads; must be deterministic.
  std::function<double(int32_t user, double* factors)> user_taste;
};

// Which event the oracle scores the log-probability of.
enum class OracleTarget {
  kRatedRelevant,  // u rates i >= 4 stars: all three terms
  kRated,          // u rates i: the exposure terms only
  // Events mode: u interacts with i and does not dislike it: the exposure
  // terms + log(1 − DislikeProbability(s_ui, σ)) (synthetic_events.h).
  kPositiveEvent,
};

// log Φ(x), the log of the standard normal CDF, accurate (relative error
// below 1e-8) for every finite x; −∞ only for x = −∞.
double LogNormalCdf(double x);

// Scores the items of a Dataset read from generated files with the oracle
// score above for `target`. Item and user indices are those of `data`'s id
// maps, whose ids must be the generator's ("1".."N", mapping to generator index
// id − 1). An unknown user (kUnknownIndex) scores with p_u = 0 and b_u = 0.
// Immutable after Create; ScoreItems may be called concurrently. Copies
// `model` but borrows *model.items and whatever model.user_taste refers to,
// which must outlive the scorer; `data` need not.
class OracleScorer final : public ItemScorer {
 public:
  // Errors: InvalidArgument if model.items or model.user_taste is empty,
  // latent_factors is not in [1, 256] or does not match the items, or an id of
  // `data` is not a generator id within the model.
  static absl::StatusOr<std::unique_ptr<OracleScorer>> Create(
      const OracleModel& model, const Dataset& data,
      OracleTarget target = OracleTarget::kRatedRelevant);

  int32_t num_items() const override {
    return static_cast<int32_t>(log_popularity_.size());
  }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  OracleScorer(const OracleModel& model, OracleTarget target)
      : model_(model), target_(target) {}

  OracleModel model_;
  OracleTarget target_;
  // Per item of `data`, in its index order.
  std::vector<double> log_popularity_, bias_, factors_;
  std::vector<int32_t> user_index_;  // data user index -> generator index
};

// Reads the generated ratings file `ratings_path` (MovieLens csv, the
// generator's ids) and evaluates OracleScorer with EvaluateTopN under the two
// protocols the trainer reports, each split with SplitDataset, taking the
// full-ranking metrics from the kRatedRelevant scorer and the leave-one-out
// ones from the kRated scorer:
//   "random:0.1": the trainer's default split, seed 1;
//   "loo": each user's latest rating held out.
// TopNOptions: k = 10, relevance_threshold = 4, loo_negatives = 100, seed 1,
// max_users = kOracleMaxUsers, `threads` workers (the result does not depend
// on them). Returns
//   {"scorer": {"full_ranking": <formula>, "leave_one_out": <formula>},
//    "k": 10, "relevance_threshold": 4,
//    "loo_negatives": 100, "max_users": 5000, "seed": 1,
//    "random:0.1": {"precision@10", "recall@10", "ndcg@10", "coverage",
//                   "hr@10", "loo_ndcg@10"},
//    "loo": {the same keys},
//    "evaluated_users": {"random:0.1": {"topn_users", "loo_users"},
//                        "loo": {...}}}
// with the trainer's metric names (core/eval/evaluation_report.h); a metric is
// null when no user qualifies for it. Deterministic.
//
// Errors: those of ReadRatings and SplitDataset (e.g. NotFound naming the
// path), and of OracleScorer::Create. Memory: about twice the ratings as
// Rating structs (the data and one split at a time).
absl::StatusOr<nlohmann::json> OracleTopNJson(const OracleModel& model,
                                              const std::string& ratings_path,
                                              int32_t threads);

// Reads the generated events file `events_path` back as implicit feedback
// (ReadRatings: kGeneric, the generator's columns, event weights
// "view=1,cart=4,purchase=10", negative "dislike"), holds out a random 20% of
// each user's interactions (SplitDataset kUserRandom, seed 1) and evaluates
// with EvaluateTopN the kPositiveEvent OracleScorer and, for reference, the
// popularity baseline (PopularityScorer) on that split. TopNOptions: k = 10,
// relevance_threshold = 0 (every positive interaction is relevant, no
// dislike is), loo_negatives = 100, seed 1, max_users = kOracleMaxUsers,
// `threads` workers. Returns
//   {"scorer": <formula>, "split": "per_user_random:0.2", "k": 10,
//    "relevance_threshold": 0, "loo_negatives": 100, "max_users": 5000,
//    "seed": 1, "test_interactions": n, "test_negative": n,
//    "per_user_random:0.2": {"precision@10", "recall@10", "ndcg@10",
//                            "hit_rate@10", "map@10", "coverage", "hr@10",
//                            "loo_ndcg@10"},
//    "popularity": {"per_user_random:0.2": {the same keys}},
//    "evaluated_users": {"per_user_random:0.2": {"topn_users", "loo_users"}}}
// with the trainer's metric names (core/eval/evaluation_report.h); a metric is
// null when no user qualifies for it. Deterministic.
//
// Errors: those of ReadRatings (e.g. NotFound naming the path) and of
// OracleScorer::Create.
absl::StatusOr<nlohmann::json> OracleEventsJson(const OracleModel& model,
                                                const std::string& events_path,
                                                int32_t threads);

}  // namespace recserve::synthetic

#endif  // RECSERVE_CORE_SYNTHETIC_SYNTHETIC_ORACLE_H_
