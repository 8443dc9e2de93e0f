#ifndef RECSERVE_TESTS_TESTUTIL_TINY_MODEL_H_
#define RECSERVE_TESTS_TESTUTIL_TINY_MODEL_H_

// Small deterministic fixtures for snapshot tests: a Dataset, an MfModel over
// it, an item catalog and retrieval embeddings.

#include <cstdint>

#include "core/train/implicit_als.h"
#include "core/data/item_metadata.h"
#include "core/model/mf_model.h"
#include "core/data/ratings.h"

namespace recserve {
namespace testutil {

struct TinyModel {
  Dataset train;
  MfModel model;
  ItemCatalog catalog;
};

// Users "u0".."u{n-1}", items "i0".."i{m-1}" (interned in that order). User u
// rates items (u * 7 + j * 3) % num_items for j < ratings_per_user, value
// 1 + (u + j) % 5, timestamp 1000 * u + j; user 0 also rates item 0 twice
// more (a duplicate pair), and the last user rates nothing. The model has
// random biases and factors (seeded), global mean 3.25 and scale {1, 5, 1}.
// Every even item has a catalog entry whose title contains non-ASCII UTF-8,
// a tab and a newline; odd items have none.
TinyModel MakeTinyModel(int32_t num_users, int32_t num_items, int32_t factors,
                        int32_t ratings_per_user = 3, uint64_t seed = 1);

// Retrieval embeddings for MakeTinyModel's users and items: num_users x
// factors and num_items x factors, uniform in [-1, 1), deterministic for a
// seed. Every value is distinct from every other (with overwhelming
// probability), so a transposed or shifted copy does not compare equal.
RetrievalModel MakeTinyRetrieval(int32_t num_users, int32_t num_items,
                                int32_t factors, uint64_t seed = 2);

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_TESTUTIL_TINY_MODEL_H_
