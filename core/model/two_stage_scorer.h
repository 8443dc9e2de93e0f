#ifndef RECSERVE_CORE_MODEL_TWO_STAGE_SCORER_H_
#define RECSERVE_CORE_MODEL_TWO_STAGE_SCORER_H_

// Two-stage ranking, exactly as the server runs it, behind the ItemScorer
// interface so the evaluator measures what users will get:
//  1. candidates: the `candidates` items with the highest retrieval score
//     among the items the user has not rated;
//  2. rerank: each candidate scores
//       blend_weight · R + (1 − blend_weight) · P
//     where R is its retrieval score min-max normalized over the candidates
//     (1 = best candidate) and P is the rating model's unclamped score
//     normalized by the rating scale, (score − min) / (max − min).
// blend_weight 0 ranks the pool by predicted rating alone; 1 keeps the
// retrieval order. Unseen items outside the pool score below every pool item,
// in retrieval order (what the pipeline would return after its pool, e.g. on
// the sampled leave-one-out protocol); seen items score −∞.

#include <cstdint>

#include "absl/types/span.h"
#include "core/model/item_scorer.h"
#include "core/model/mf_model.h"
#include "core/data/sparse_ratings.h"

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
// for the unclamped rating score. Shared by the evaluator and the server.
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

// Borrows `retrieval`, `rating_model` and `seen` (each user's training
// items, GroupRatings by user), which must outlive the scorer. Immutable;
// ScoreItems may be called concurrently.
class TwoStageScorer final : public ItemScorer {
 public:
  TwoStageScorer(const ItemScorer& retrieval, const MfModel& rating_model,
                 const SparseRatings& seen, const TwoStageOptions& options);

  int32_t num_items() const override { return retrieval_.num_items(); }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  const ItemScorer& retrieval_;
  const MfModel& rating_model_;
  const SparseRatings& seen_;
  TwoStageOptions options_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_TWO_STAGE_SCORER_H_
