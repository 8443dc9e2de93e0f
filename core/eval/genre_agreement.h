#ifndef RECSERVE_CORE_EVAL_GENRE_AGREEMENT_H_
#define RECSERVE_CORE_EVAL_GENRE_AGREEMENT_H_

// A sanity figure for SimilarItems: how often an item's nearest neighbours
// by cosine similarity of some item vectors share a genre with it, beside
// how often random pairs do. Good item-to-item embeddings score well above
// the random share.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "core/model/mf_model.h"

namespace recserve {

struct GenreAgreement {
  double neighbours = 0;  // share of (item, neighbour) pairs sharing a genre
  double random = 0;      // the same share over random pairs
  int64_t items = 0;      // items measured
};

// `genres[i]` lists item i's genres (empty: unknown, and such items are
// neither measured nor counted as neighbours). Measures the k nearest
// neighbours of up to `max_items` items (a deterministic sample for `seed`).
// Returns nullopt when fewer than two items have genres. Uses `threads`
// workers; the result does not depend on their number.
std::optional<GenreAgreement> MeasureGenreAgreement(
    const FactorMatrix& item_vectors,
    const std::vector<std::vector<std::string>>& genres, int32_t k,
    int32_t max_items, uint64_t seed, int32_t threads);

// The building blocks MeasureGenreAgreement shares with
// MeasureLabelAgreementOf (core/eval/cold_item_evaluation.h).

// Whether the label lists `a` and `b` have a label in common.
bool ShareLabel(const std::vector<std::string>& a,
                const std::vector<std::string>& b);

// The share of (query, neighbour) pairs that share a label, over the
// min(k, |candidates| - 1) nearest neighbours by cosine similarity of
// `item_vectors` of each of `queries`, among `candidates` except the query
// itself (ties to the lower item, core/base/top_k.h). Every query must be
// one of `candidates`, which must be distinct rows of `item_vectors` with an
// entry in `labels`. Requires k >= 1 and |candidates| >= 2; NaN when `queries`
// is empty. Uses `threads` workers; the result does not depend on their number.
double NeighbourLabelShare(const FactorMatrix& item_vectors,
                           const std::vector<std::vector<std::string>>& labels,
                           absl::Span<const int32_t> candidates,
                           absl::Span<const int32_t> queries, int32_t k,
                           int32_t threads);

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_GENRE_AGREEMENT_H_
