#include "core/model/two_stage_scorer.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

namespace recserve {

TwoStageScorer::TwoStageScorer(const ItemScorer& retrieval,
                               const MfModel& rating_model,
                               const SparseRatings& seen,
                               const TwoStageOptions& options)
    : retrieval_(retrieval),
      rating_model_(rating_model),
      seen_(seen),
      options_(options) {}

void TwoStageScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  const int32_t n = num_items();
  std::vector<float> retrieval(n);
  retrieval_.ScoreItems(user, absl::MakeSpan(retrieval));
  constexpr float kExcluded = -std::numeric_limits<float>::infinity();
  if (user != kUnknownIndex && user < seen_.rows()) {
    for (int64_t j = seen_.offsets[user]; j < seen_.offsets[user + 1]; ++j) {
      retrieval[seen_.cols[j]] = kExcluded;
    }
  }
  // Stage 1: the top C by retrieval score (ties to the lower index).
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  const int32_t pool = std::min(options_.candidates, n);
  const auto better = [&](int32_t a, int32_t b) {
    return retrieval[a] > retrieval[b] ||
           (retrieval[a] == retrieval[b] && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + pool, order.end(), better);
  std::fill(scores.begin(), scores.end(), kExcluded);
  int32_t kept = 0;
  while (kept < pool && retrieval[order[kept]] != kExcluded) ++kept;
  if (kept == 0) return;
  // Stage 2: the blend.
  const float best = retrieval[order[0]];
  const float worst = retrieval[order[kept - 1]];
  for (int32_t j = 0; j < kept; ++j) {
    const int32_t item = order[j];
    scores[item] = TwoStageBlend(retrieval[item], best, worst,
                                 rating_model_.Score(user, item),
                                 rating_model_.scale, options_.blend_weight);
  }
  // The rest of the unseen items rank below the pool in retrieval order, so
  // the scores order the whole catalog the way the pipeline would if asked
  // for more items than its pool holds.
  float pool_min = scores[order[0]];
  for (int32_t j = 1; j < kept; ++j) {
    pool_min = std::min(pool_min, scores[order[j]]);
  }
  float lowest = worst;
  for (int32_t item = 0; item < n; ++item) {
    if (retrieval[item] != kExcluded) {
      lowest = std::min(lowest, retrieval[item]);
    }
  }
  const float below = pool_min - 1.0f;
  const float rest_span = worst - lowest;
  for (int32_t j = kept; j < n; ++j) {
    const int32_t item = order[j];
    if (retrieval[item] == kExcluded) continue;
    scores[item] =
        below - (rest_span > 0 ? (worst - retrieval[item]) / rest_span : 0.0f);
  }
}

}  // namespace recserve
