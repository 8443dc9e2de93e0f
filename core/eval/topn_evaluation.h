#ifndef RECSERVE_CORE_EVAL_TOPN_EVALUATION_H_
#define RECSERVE_CORE_EVAL_TOPN_EVALUATION_H_

// Offline top-N evaluation of an ItemScorer on held-out ratings, with two
// protocols. Test values follow core/data/ratings.h: star ratings, or signed
// implicit interactions (>= 0 positive, < 0 negative, e.g. a "dislike").
//
// Full ranking. For each evaluated user with at least one relevant test
// rating (value >= relevance_threshold; implicit-feedback callers pass 0, so
// that every positive interaction is relevant and no negative one is): score
// every catalog item, drop the items the user rated in training (negative
// interactions included: they are seen), and take the top k (ties broken by
// lower item index). precision@k = hits / k, recall@k = hits / |relevant|
// (relevant test items unknown to the model, or also rated in training, count
// in |relevant| but cannot be hit), NDCG@k with binary relevance, hit rate@k
// = [hits > 0] and MAP@k = AveragePrecisionAtK (see ranking_metrics.h); each
// averaged over those users. Coverage = distinct items in any of their top-k
// lists / number of catalog items.
//
// Leave-one-out with sampled negatives (He et al., "Neural Collaborative
// Filtering", 2017). For each evaluated user with a test rating of value >= 0:
// the positive is the latest such test rating by timestamp, whatever its value
// (equal timestamps: the later one in `test`); a negative interaction is never
// the positive. The negatives are loo_negatives items drawn uniformly without
// replacement from the catalog items the user rated neither in training nor
// in test (all of them if there are fewer). The positive's 0-based rank among
// the 1 + negatives scores counts ties against it (RankAmong); HR@k =
// [rank < k], NDCG@k = 1/log2(rank + 2) if rank < k. A positive unknown to the
// model (kUnknownIndex) is a miss. Averaged over those users.
//
// Evaluated users: the training users (known index) with at least one test
// rating, or a sample of max_users of them. Test ratings whose user is
// kUnknownIndex are skipped: the scorer could not tell those users apart.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/item_scorer.h"

namespace recserve {

struct TopNOptions {
  // List length K for every @K metric; values < 1 are treated as 1.
  int32_t k = 10;
  // A test rating with value >= this is relevant for full ranking. Pass 0
  // for implicit feedback: every positive interaction, no negative one.
  float relevance_threshold = 4.0f;
  // Number of sampled negatives per user for leave-one-out; < 0 means 0.
  int32_t loo_negatives = 100;
  // Seeds the negative sampling (per user: seed and user index) and the
  // max_users sample.
  uint64_t seed = 1;
  // Worker threads; 0 means one per hardware thread. Results do not depend
  // on it.
  int32_t threads = 0;
  // 0 evaluates every eligible user. Otherwise a deterministic uniform sample
  // (by seed) of that many eligible users is evaluated under both protocols,
  // to bound the cost of scoring the full catalog on big data.
  int32_t max_users = 0;
};

struct TopNMetrics {
  // Full ranking, averaged over `users`; NaN when users == 0.
  double precision = 0;
  double recall = 0;
  double ndcg = 0;
  // Share of them with at least one relevant item in their top k.
  double hit_rate = 0;
  // Mean average precision at k (AveragePrecisionAtK).
  double map = 0;
  double coverage = 0;  // NaN when users == 0 or the catalog is empty
  int64_t users = 0;    // users with at least one relevant test rating
  // Leave-one-out with sampled negatives, averaged over `loo_users`; NaN when
  // loo_users == 0.
  double loo_hr = 0;
  double loo_ndcg = 0;
  // Evaluated users with a test rating of value >= 0 (with explicit
  // feedback: every evaluated user).
  int64_t loo_users = 0;
};

// Evaluates `scorer` on `test`, whose indices refer to `train`'s id maps
// (as produced by SplitDataset / MakeTrainTest). The catalog is
// 0 .. scorer.num_items() - 1, which should be train.num_items(); items
// outside it count as unknown. Every train rating's indices must be valid in
// train's id maps. Deterministic: the result depends only on the arguments,
// not on options.threads or scheduling. Allocates O(num_items) per worker
// and O(train + test) in total, nothing per user. Thread-safe (reads only);
// `scorer.ScoreItems` is called concurrently from the worker threads.
TopNMetrics EvaluateTopN(const ItemScorer& scorer, const Dataset& train,
                         absl::Span<const Rating> test,
                         const TopNOptions& options);

// The same for several scorers on the same users, negatives and relevant
// items, one TopNMetrics per scorer in order: equal to evaluating each alone,
// at the cost of working out each user once. The scorers are called one
// after another for each user, on that user's worker thread, so scorers
// sharing a stage can reuse it (MemoizedScorer). Every scorer must have the
// same num_items(); none must be null.
std::vector<TopNMetrics> EvaluateTopN(
    absl::Span<const ItemScorer* const> scorers, const Dataset& train,
    absl::Span<const Rating> test, const TopNOptions& options);

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_TOPN_EVALUATION_H_
