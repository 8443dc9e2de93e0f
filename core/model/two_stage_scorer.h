#ifndef RECSERVE_CORE_MODEL_TWO_STAGE_SCORER_H_
#define RECSERVE_CORE_MODEL_TWO_STAGE_SCORER_H_

// Two-stage ranking (two_stage_ranker.h) behind the ItemScorer interface, so
// the evaluator measures what users will get. Stage 1 is exact: the
// `candidates` items with the highest retrieval score among the items the
// user has not rated (ties to the lower index); stage 2 is TwoStageRanker,
// as in the server. Unseen items outside the pool score below every pool
// item, in retrieval order (what the pipeline would return after its pool,
// e.g. on the sampled leave-one-out protocol); seen items, and items whose
// retrieval score is −∞ or NaN, score −∞.

#include <cstdint>

#include "absl/types/span.h"
#include "core/data/sparse_ratings.h"
#include "core/model/item_scorer.h"
#include "core/model/mf_model.h"
#include "core/model/two_stage_ranker.h"

namespace recserve {

// Borrows `retrieval`, `rating_model` and `seen` (each user's training
// items, GroupRatings by RatingAxis::kUser), which must outlive the scorer.
// Immutable; ScoreItems may be called concurrently.
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
  TwoStageRanker ranker_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_TWO_STAGE_SCORER_H_
