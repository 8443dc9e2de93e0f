#ifndef RECSERVE_CORE_TRAIN_ITEM_ITEM_SEARCH_H_
#define RECSERVE_CORE_TRAIN_ITEM_ITEM_SEARCH_H_

// The search for the item-item retrieval model's settings (EASE,
// item_item_trainer.h) on validation splits, beside the embeddings it would
// replace as the retrieval stage; TwoStageTrainingOptions
// (two_stage_trainer.h) says when it runs and why it is guarded.

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "core/data/split.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/item_item_model.h"
#include "core/train/two_stage_trainer.h"

namespace recserve {

// How the settings are judged: on the latest-interaction split, and with
// the guard also on a random hold-out of the same users, each beside the
// embeddings' NDCG@K there. Borrows the splits, which must outlive the
// search.
struct ItemItemJudges {
  const TrainTest* latest = nullptr;
  const TrainTest* random = nullptr;  // null without the guard
  double embeddings_latest = 0;
  double embeddings_random = 0;
  // How both splits are ranked (K, users, threads; full ranking).
  TopNOptions topn;
};

// The search (see TwoStageTrainingOptions): λ from item_item_reg_grid
// unweighted, the recency weight from item_item_recency_grid at the best λ
// and retrieval.recency_horizon, the horizon from retrieval_horizon_grid at
// the best weight above 0, then λ again at that weighting. Only λ trains
// (one solve per split); the weighting is applied at scoring. A setting
// ranks ahead of another when it passes the guard (random-hold-out NDCG@K at
// least the embeddings') and the other does not, else by latest NDCG@K;
// only a setting that beats the embeddings' latest NDCG@K can pass.
// Appends every trial to *trials (what it held before is kept and plays no
// part) and sets *chosen to the best model, trained on the latest split,
// when it passes; otherwise *chosen is left as it was. Solves on
// options.validation.threads workers and ranks on judges.topn.threads;
// reads the splits only, so searches may run concurrently on their own
// outputs. Errors: InvalidArgument for an empty
// item_item_reg_grid or no latest split; those of ItemCooccurrences and
// SolveItemItem (item_item_trainer.h).
absl::Status ChooseItemItem(const TwoStageTrainingOptions& options,
                            const ItemItemJudges& judges,
                            std::vector<ItemItemTrial>* trials,
                            std::optional<ItemItemModel>* chosen);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_ITEM_ITEM_SEARCH_H_
