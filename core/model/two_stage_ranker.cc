#include "core/model/two_stage_ranker.h"

#include <algorithm>

namespace recserve {

std::vector<RankedItem> TwoStageRanker::Rank(absl::Span<const ScoredItem> pool,
                                             RatingScoreFn rating_score,
                                             int32_t n) const {
  if (pool.empty() || n < 1) return {};
  float best = pool.front().score, worst = best;
  for (const ScoredItem& c : pool) {
    best = std::max(best, c.score);
    worst = std::min(worst, c.score);
  }
  TopK<RankedItem> top(std::min(pool.size(), static_cast<size_t>(n)));
  for (const ScoredItem& c : pool) {
    const float rating = rating_score(c.item);
    top.Offer(
        {c.item,
         TwoStageBlend(c.score, best, worst, rating, scale_, blend_weight_),
         rating});
  }
  return top.Take();
}

}  // namespace recserve
