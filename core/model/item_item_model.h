#ifndef RECSERVE_CORE_MODEL_ITEM_ITEM_MODEL_H_
#define RECSERVE_CORE_MODEL_ITEM_ITEM_MODEL_H_

// The item-item retrieval model (EASE, Steck 2019): a user's retrieval score
// for item j is
//   Σ over the user's history h of  f_h · B(h, j)
// where B is a learned item × item weight matrix with a zero diagonal
// (core/train/item_item_trainer.h) and f_h the recency factor of the
// history item (RecencyFactors, recency_factors.h, over the times the user
// interacted with each item). The user needs no vector: the history is the
// user, so a user folded in at request time scores exactly like one
// trained on the same interactions, and each history item's share of a
// score is its term of the sum.
//
// Items from weights.rows() on (items appended later without interactions,
// cold items) have no row or column: they score 0 and add nothing.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/item_scorer.h"
#include "core/model/mf_model.h"

namespace recserve {

// How the model was trained and how it weighs a user's history.
struct ItemItemParams {
  // λ of the closed form, > 0.
  float reg = 300.0f;
  // RecencyFactors' weight (>= 0) and horizon (> 0, in interactions).
  float recency_weight = 0.0f;
  float recency_horizon = 10.0f;
};

// A plain value; const access is thread-safe.
struct ItemItemModel {
  // m × m, row-major: how much having interacted with item i adds to item
  // j's score; zero diagonal. m is the number of items trained on (the
  // leading items of the catalog).
  FactorMatrix weights;
  ItemItemParams params;

  int32_t num_items() const { return static_cast<int32_t>(weights.rows()); }
};

// One user's history as the model weighs it: distinct items, ascending, and
// each one's recency factor.
struct WeightedHistory {
  std::vector<int32_t> items;
  std::vector<float> factors;
};

// The history of one user's interactions `items` at `times` (as for
// RecencyFactors): each distinct item once, at the latest of its times, as
// training counts it; its factor is RecencyFactors over those distinct
// items. Only positive interactions count: pass those. The same
// interactions at the same times give the same history in any order.
WeightedHistory WeighHistory(absl::Span<const int32_t> items,
                             absl::Span<const int64_t> times,
                             const ItemItemParams& params);

// scores[j] += Σ_k history.factors[k] · weights(history.items[k], j) for
// every j < min(weights.cols(), scores.size()); history items outside
// [0, weights.rows()) are skipped, and scores beyond weights.cols() are left
// as they are.
void AddItemItemScores(const Eigen::Ref<const FactorMatrix>& weights,
                       const WeightedHistory& history,
                       absl::Span<float> scores);

// The model behind the ItemScorer interface, for the trainer's validation and
// evaluation: each user's history is the user's positive interactions of
// `train` (value >= 0), an item's time the latest of its interactions, as
// the snapshot records them (Snapshot::SeenLater). An unknown user scores 0
// everywhere. Borrows `model`, which must outlive the scorer; copies what it
// needs of `train`. Its catalog is train.num_items(), which must be at least
// model.num_items(). Immutable; ScoreItems may be called concurrently.
class ItemItemScorer final : public ItemScorer {
 public:
  ItemItemScorer(const ItemItemModel& model, const Dataset& train);

  int32_t num_items() const override { return num_items_; }
  void ScoreItems(int32_t user, absl::Span<float> scores) const override;

 private:
  const ItemItemModel& model_;
  int32_t num_items_ = 0;
  std::vector<WeightedHistory> histories_;  // by user
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_ITEM_ITEM_MODEL_H_
