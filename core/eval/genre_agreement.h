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

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_GENRE_AGREEMENT_H_
