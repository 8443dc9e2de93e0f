#ifndef RECSERVE_CORE_MODEL_RETRIEVAL_MODEL_H_
#define RECSERVE_CORE_MODEL_RETRIEVAL_MODEL_H_

// The retrieval model: user and item embeddings whose dot product is a
// user's retrieval score for an item (the first stage of two-stage ranking).
// Trained by implicit ALS (core/train/implicit_als.h) or imported; a snapshot
// stores them as user_embeddings.npy and item_embeddings.npy.

#include <vector>

#include "core/model/mf_model.h"

namespace recserve {

struct RetrievalModel {
  FactorMatrix user_factors;  // num_users x dimensions
  FactorMatrix item_factors;  // num_items x dimensions
  // The training objective after each sweep; empty for imported models.
  std::vector<double> loss_history;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_RETRIEVAL_MODEL_H_
