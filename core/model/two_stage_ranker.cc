#include "core/model/two_stage_ranker.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace recserve {

std::vector<RankedItem> TwoStageRanker::Rank(absl::Span<const ScoredItem> pool,
                                             RatingScoreFn rating_score,
                                             int32_t n,
                                             size_t normalized_over) const {
  if (pool.empty() || n < 1) return {};
  const absl::Span<const ScoredItem> scale_pool =
      normalized_over > 0 && normalized_over < pool.size()
          ? pool.first(normalized_over)
          : pool;
  // The normalization's span comes from the finite scores only: a NaN or
  // infinite retrieval score must not erase every candidate's retrieval term.
  float best = -std::numeric_limits<float>::infinity();
  float worst = std::numeric_limits<float>::infinity();
  for (const ScoredItem& c : scale_pool) {
    if (!std::isfinite(c.score)) continue;
    best = std::max(best, c.score);
    worst = std::min(worst, c.score);
  }
  if (best < worst) best = worst = 0;  // no finite score at all
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
