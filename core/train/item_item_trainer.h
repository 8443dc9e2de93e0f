#ifndef RECSERVE_CORE_TRAIN_ITEM_ITEM_TRAINER_H_
#define RECSERVE_CORE_TRAIN_ITEM_ITEM_TRAINER_H_

// Trains the item-item retrieval model (item_item_model.h) in closed form
// (EASE, Steck 2019): with X the users × items matrix of who interacted with
// what (1 for a positive interaction, value >= 0, else 0; repeats count
// once), G = XᵀX and P = (G + λI)⁻¹,
//   B(i, j) = −P(i, j) / P(j, j) for i ≠ j,  B(j, j) = 0,
// the least-squares fit of X by XB with B's diagonal held at zero. Exact: no
// iterations, no seed. Costs items² floats four times over and about items³
// operations, so it is for catalogs under a size limit.

#include <Eigen/Core>
#include <cstdint>

#include "absl/status/statusor.h"
#include "core/data/ratings.h"
#include "core/model/item_item_model.h"

namespace recserve {

// The largest catalog TrainItemItem accepts: 16,384² floats are 1 GiB per
// copy, and it holds four.
inline constexpr int32_t kMaxItemItemItems = 16384;

// G = XᵀX of `train` (items × items, lower triangle and diagonal filled,
// the upper triangle zero): how many users interacted positively with both
// items. Computing it once serves every λ. Errors: InvalidArgument for no
// items or more than kMaxItemItemItems.
absl::StatusOr<Eigen::MatrixXf> ItemCooccurrences(const Dataset& train);

// The model from `cooccurrences` (ItemCooccurrences) with `params`
// (params.reg is λ; the recency settings are recorded, not used in
// training). `threads` workers (0 = all cores) share the inversion. Errors:
// InvalidArgument for reg not finite and > 0 or recency settings out of
// range (weight >= 0, horizon > 0, both finite).
absl::StatusOr<ItemItemModel> SolveItemItem(
    const Eigen::MatrixXf& cooccurrences, const ItemItemParams& params,
    int32_t threads = 0);

// ItemCooccurrences, then SolveItemItem: the model of `train`'s
// num_items() items. Errors: both's.
absl::StatusOr<ItemItemModel> TrainItemItem(const Dataset& train,
                                            const ItemItemParams& params,
                                            int32_t threads = 0);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_ITEM_ITEM_TRAINER_H_
