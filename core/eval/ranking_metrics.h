#ifndef RECSERVE_CORE_EVAL_RANKING_METRICS_H_
#define RECSERVE_CORE_EVAL_RANKING_METRICS_H_

// Top-N metrics of one user's ranked list. Pure functions, thread-safe.
//
// Conventions shared by the list metrics:
//  - `ranked` holds the recommended item indices, best first; items are
//    distinct and non-negative. Only the first min(k, ranked.size()) count.
//  - `relevant` holds the user's relevant items, sorted ascending, distinct
//    except for kUnknownIndex, which may repeat: each kUnknownIndex entry
//    stands for a relevant item the model does not know, so it counts towards
//    |relevant| but can never be hit.
//  - `k` >= 1; for k <= 0 every metric is 0.
//  - Ranks are 0-based: the best item has rank 0.

#include <cstdint>

#include "absl/types/span.h"

namespace recserve {

// Number of relevant items among the first k of `ranked`.
int32_t HitsAtK(absl::Span<const int32_t> ranked,
                absl::Span<const int32_t> relevant, int32_t k);

// HitsAtK / k. A list shorter than k is not rescaled: its missing slots count
// as misses.
double PrecisionAtK(absl::Span<const int32_t> ranked,
                    absl::Span<const int32_t> relevant, int32_t k);

// HitsAtK / |relevant|; 0 when `relevant` is empty.
double RecallAtK(absl::Span<const int32_t> ranked,
                 absl::Span<const int32_t> relevant, int32_t k);

// Binary-relevance NDCG: DCG / IDCG with DCG = Σ 1/log2(j + 2) over ranks
// j < k holding a relevant item, and IDCG the same sum over ranks
// j < min(|relevant|, k). 0 when `relevant` is empty.
double NdcgAtK(absl::Span<const int32_t> ranked,
               absl::Span<const int32_t> relevant, int32_t k);

// 1 if HitsAtK > 0, else 0.
double HitAtK(absl::Span<const int32_t> ranked,
              absl::Span<const int32_t> relevant, int32_t k);

// Average precision at k: Σ HitsAtK(ranked, relevant, j + 1) / (j + 1) over
// the ranks j < k holding a relevant item, divided by min(|relevant|, k), so
// that a list with every slot it could fill relevant scores 1. 0 when
// `relevant` is empty.
double AveragePrecisionAtK(absl::Span<const int32_t> ranked,
                           absl::Span<const int32_t> relevant, int32_t k);

// The rank of a target item with score `target` among candidates whose other
// scores are `others`: the number of others scoring strictly higher plus the
// number scoring exactly the same (ties count against the target, so a scorer
// that gives every item the same score ranks the target last). A NaN target
// ranks last (others.size()); NaN entries of `others` never outrank it.
int64_t RankAmong(float target, absl::Span<const float> others);

// Hit rate of a single relevant item at `rank`: 1 if rank < k, else 0.
double HitForRank(int64_t rank, int32_t k);

// NDCG of a single relevant item at `rank`: 1/log2(rank + 2) if rank < k,
// else 0 (the ideal DCG of one relevant item is 1).
double NdcgForRank(int64_t rank, int32_t k);

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_RANKING_METRICS_H_
