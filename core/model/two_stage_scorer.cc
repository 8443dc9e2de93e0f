#include "core/model/two_stage_scorer.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/base/top_k.h"

namespace recserve {

TwoStageScorer::TwoStageScorer(const ItemScorer& retrieval,
                               const MfModel& rating_model,
                               const SparseRatings& seen,
                               const TwoStageOptions& options)
    : retrieval_(retrieval),
      rating_model_(rating_model),
      seen_(seen),
      options_(options),
      ranker_(rating_model.scale, options.blend_weight) {}

void TwoStageScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  const int32_t n = num_items();
  // The retrieval scores are computed into `scores` and turned into the
  // final scores in place: no per-call buffer of the catalog's size.
  retrieval_.ScoreItems(user, scores);
  constexpr float kExcluded = -std::numeric_limits<float>::infinity();
  if (user != kUnknownIndex && user < seen_.rows()) {
    for (const int32_t item : seen_.Row(user)) scores[item] = kExcluded;
  }
  // Items that may be candidates: unseen, with a retrieval score.
  const auto candidate = [](float retrieval) {
    return retrieval > kExcluded;  // false for NaN
  };
  // Stage 1: the exact top C by retrieval score, and the lowest candidate
  // score, in one pass.
  TopK<> top(static_cast<size_t>(std::clamp(options_.candidates, 0, n)));
  float lowest = std::numeric_limits<float>::infinity();
  for (int32_t item = 0; item < n; ++item) {
    const float retrieval = scores[item];
    if (!candidate(retrieval)) continue;
    top.Offer({item, retrieval});
    lowest = std::min(lowest, retrieval);
  }
  const std::vector<ScoredItem> pool = top.Take();
  if (pool.empty()) {
    std::fill(scores.begin(), scores.end(), kExcluded);
    return;
  }
  // Stage 2: the blend, for the whole pool.
  const std::vector<RankedItem> ranked = ranker_.Rank(
      pool, [&](int32_t item) { return rating_model_.Score(user, item); },
      static_cast<int32_t>(pool.size()));
  float pool_min = ranked.front().score;
  for (const RankedItem& r : ranked) pool_min = std::min(pool_min, r.score);
  // The rest of the unseen items rank below the pool in retrieval order, so
  // the scores order the whole catalog the way the pipeline would if asked
  // for more items than its pool holds. Pool items are overwritten below.
  const float worst = pool.back().score;
  const float below = pool_min - 1.0f;
  const float rest_span = worst - lowest;
  for (int32_t item = 0; item < n; ++item) {
    const float retrieval = scores[item];
    scores[item] =
        !candidate(retrieval)
            ? kExcluded
            : below - (rest_span > 0 ? (worst - retrieval) / rest_span : 0.0f);
  }
  for (const RankedItem& r : ranked) scores[r.item] = r.score;
}

}  // namespace recserve
