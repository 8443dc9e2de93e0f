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
  std::vector<float> retrieval(n);
  retrieval_.ScoreItems(user, absl::MakeSpan(retrieval));
  constexpr float kExcluded = -std::numeric_limits<float>::infinity();
  if (user != kUnknownIndex && user < seen_.rows()) {
    for (const int32_t item : seen_.Row(user)) retrieval[item] = kExcluded;
  }
  // Items that may be candidates: unseen, with a retrieval score.
  const auto candidate = [&retrieval](int32_t item) {
    return retrieval[item] > kExcluded;  // false for NaN
  };
  // Stage 1: the exact top C by retrieval score.
  TopK<> top(static_cast<size_t>(std::clamp(options_.candidates, 0, n)));
  for (int32_t item = 0; item < n; ++item) {
    if (candidate(item)) top.Offer({item, retrieval[item]});
  }
  const std::vector<ScoredItem> pool = top.Take();
  std::fill(scores.begin(), scores.end(), kExcluded);
  if (pool.empty()) return;
  // Stage 2: the blend, for the whole pool.
  const std::vector<RankedItem> ranked = ranker_.Rank(
      pool, [&](int32_t item) { return rating_model_.Score(user, item); },
      static_cast<int32_t>(pool.size()));
  std::vector<uint8_t> in_pool(n, 0);
  float pool_min = ranked.front().score;
  for (const RankedItem& r : ranked) {
    scores[r.item] = r.score;
    in_pool[r.item] = 1;
    pool_min = std::min(pool_min, r.score);
  }
  // The rest of the unseen items rank below the pool in retrieval order, so
  // the scores order the whole catalog the way the pipeline would if asked
  // for more items than its pool holds.
  const float worst = pool.back().score;
  float lowest = worst;
  for (int32_t item = 0; item < n; ++item) {
    if (candidate(item)) lowest = std::min(lowest, retrieval[item]);
  }
  const float below = pool_min - 1.0f;
  const float rest_span = worst - lowest;
  for (int32_t item = 0; item < n; ++item) {
    if (!candidate(item) || in_pool[item]) continue;
    scores[item] =
        below - (rest_span > 0 ? (worst - retrieval[item]) / rest_span : 0.0f);
  }
}

}  // namespace recserve
