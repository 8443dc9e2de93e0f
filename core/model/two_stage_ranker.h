#ifndef RECSERVE_CORE_MODEL_TWO_STAGE_RANKER_H_
#define RECSERVE_CORE_MODEL_TWO_STAGE_RANKER_H_

// Two-stage ranking, the way the trainer evaluates it (TwoStageScorer,
// two_stage_scorer.h) and the server answers Recommend (ServingModel):
//  1. candidates: the `candidates` items with the highest retrieval score
//     among the items the user has not rated (offline: exactly, over the
//     whole catalog; online: by the norm-ordered scan, HNSW or brute force);
//  2. rerank: each candidate scores
//       blend_weight · R + (1 − blend_weight) · P
//     where R is its retrieval score min-max normalized over the candidates
//     (1 = best candidate) and P is the rating model's unclamped score
//     normalized by the rating scale, (score − min) / (max − min); the best
//     n in the one ranking order (core/base/top_k.h).
// blend_weight 0 ranks the pool by predicted rating alone; 1 keeps the
// retrieval order. Stage 2 is TwoStageRanker, written once for both callers.

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "core/base/top_k.h"
#include "core/data/ratings.h"

namespace recserve {

struct TwoStageOptions {
  // Candidate pool size C. Default 200.
  int32_t candidates = 200;
  // Weight of the normalized retrieval score in [0, 1]. Default 0.5; the
  // trainer chooses it on a validation set.
  float blend_weight = 0.5f;
};

// The rerank score of one candidate: blend_weight · R + (1 − blend_weight) · P
// with R = (retrieval − worst) / (best − worst) over the pool (1 when the pool
// has one score) and P = (rating_score − scale.min) / (scale.max − scale.min)
// for the unclamped rating score.
inline float TwoStageBlend(float retrieval, float best, float worst,
                           float rating_score, const RatingScale& scale,
                           float blend_weight) {
  const float span = best - worst;
  const float r = span > 0 ? (retrieval - worst) / span : 1.0f;
  const float rating_span = scale.max - scale.min;
  const float p =
      (rating_score - scale.min) / (rating_span > 0 ? rating_span : 1.0f);
  return blend_weight * r + (1.0f - blend_weight) * p;
}

// The rating model's unclamped score of `item` for the user being ranked:
// MfModel::Score offline, Snapshot::Score in the server (no copy of the
// model either way).
using RatingScoreFn = absl::FunctionRef<float(int32_t item)>;

// One reranked candidate.
struct RankedItem {
  int32_t item = 0;
  float score = 0.0f;         // TwoStageBlend
  float rating_score = 0.0f;  // the rating model's, unclamped
};

// Stage 2. Immutable and cheap to construct; Rank may be called from any
// number of threads.
class TwoStageRanker final {
 public:
  TwoStageRanker(const RatingScale& scale, float blend_weight)
      : scale_(scale), blend_weight_(blend_weight) {}

  // Blends every candidate of `pool` (stage 1's items with their retrieval
  // scores, distinct items, in any order) with TwoStageBlend, R normalized
  // over the highest and lowest finite retrieval score of the pool (a NaN or
  // infinite one blends to NaN or ±∞ and ranks by RankingOrder), P from
  // `rating_score` (called once per candidate); returns the best
  // min(n, pool.size()) by the blend in RankingOrder (top_k.h). Empty when
  // the pool is or n < 1. When `normalized_over` is in [1, pool.size()), R
  // is normalized over the first `normalized_over` candidates only: items
  // added after a pool (the server's reserved cold items) are then blended
  // on the pool's scale, which adding them leaves unchanged, so the pool's
  // own order and scores do not move.
  std::vector<RankedItem> Rank(absl::Span<const ScoredItem> pool,
                               RatingScoreFn rating_score, int32_t n,
                               size_t normalized_over = 0) const;

 private:
  RatingScale scale_;
  float blend_weight_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_TWO_STAGE_RANKER_H_
