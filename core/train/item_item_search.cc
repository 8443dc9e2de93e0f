#include "core/train/item_item_search.h"

#include <Eigen/Core>
#include <utility>

#include "core/base/status_macros.h"
#include "core/train/item_item_trainer.h"
#include "core/train/recency_weights.h"

namespace recserve {

absl::Status ChooseItemItem(const TwoStageTrainingOptions& options,
                            const ItemItemJudges& judges,
                            std::vector<ItemItemTrial>* trials,
                            std::optional<ItemItemModel>* chosen) {
  if (options.item_item_reg_grid.empty() || judges.latest == nullptr) {
    return absl::InvalidArgumentError(
        "the item-item search needs a regularization grid and a latest split");
  }
  const TopNOptions& topn = judges.topn;
  const int32_t threads = options.validation.threads;
  ASSIGN_OR_RETURN(const Eigen::MatrixXf latest_gram,
                   ItemCooccurrences(judges.latest->train));
  Eigen::MatrixXf random_gram;
  if (judges.random != nullptr) {
    ASSIGN_OR_RETURN(random_gram, ItemCooccurrences(judges.random->train));
  }
  // The models of the λ being scored on each split; the random split's is
  // solved only when a trial needs the guard.
  float latest_reg = 0, random_reg = 0;
  ItemItemModel latest_model, random_model;
  // Only a setting that ranks the latest items better than the embeddings
  // can be chosen, so only such a setting is judged by the guard; the
  // others count as failing it.
  const auto passes = [&](const ItemItemTrial& t) {
    if (!(t.ndcg > judges.embeddings_latest)) return false;
    return judges.random == nullptr ||
           t.random_ndcg >= judges.embeddings_random;
  };
  const auto ahead = [&](const ItemItemTrial& a, const ItemItemTrial& b) {
    if (passes(a) != passes(b)) return passes(a);
    return a.ndcg > b.ndcg;
  };
  std::optional<ItemItemTrial> best;
  // Trials of this search only: whatever *trials held before is kept, not
  // judged.
  const size_t first_trial = trials->size();
  const auto trial = [&](const ItemItemParams& p) -> absl::Status {
    for (size_t i = first_trial; i < trials->size(); ++i) {
      const ItemItemTrial& t = (*trials)[i];
      if (t.params.reg == p.reg &&
          t.params.recency_weight == p.recency_weight &&
          t.params.recency_horizon == p.recency_horizon) {
        return absl::OkStatus();
      }
    }
    if (p.reg != latest_reg) {
      ASSIGN_OR_RETURN(latest_model,
                       SolveItemItem(latest_gram, {.reg = p.reg}, threads));
      latest_reg = p.reg;
    }
    ItemItemTrial t{.params = p};
    latest_model.params = p;
    const TopNMetrics latest =
        EvaluateTopN(ItemItemScorer(latest_model, judges.latest->train),
                     judges.latest->train, judges.latest->test, topn);
    t.hr = latest.hit_rate;
    t.ndcg = latest.ndcg;
    if (judges.random != nullptr && t.ndcg > judges.embeddings_latest) {
      if (p.reg != random_reg) {
        ASSIGN_OR_RETURN(random_model,
                         SolveItemItem(random_gram, {.reg = p.reg}, threads));
        random_reg = p.reg;
      }
      random_model.params = p;
      t.random_ndcg =
          EvaluateTopN(ItemItemScorer(random_model, judges.random->train),
                       judges.random->train, judges.random->test, topn)
              .ndcg;
    }
    trials->push_back(t);
    if (!best || ahead(t, *best)) best = t;
    return absl::OkStatus();
  };
  ItemItemParams start{.recency_weight = 0,
                       .recency_horizon = options.retrieval.recency_horizon};
  for (const float reg : options.item_item_reg_grid) {
    start.reg = reg;
    RETURN_IF_ERROR(trial(start));
  }
  if (AnyUserHasTwoTimes(judges.latest->train)) {
    for (const float weight : options.item_item_recency_grid) {
      ItemItemParams p = best->params;
      p.recency_weight = weight;
      RETURN_IF_ERROR(trial(p));
    }
    if (best->params.recency_weight > 0) {
      for (const float horizon : options.retrieval_horizon_grid) {
        ItemItemParams p = best->params;
        p.recency_horizon = horizon;
        RETURN_IF_ERROR(trial(p));
      }
      for (const float reg : options.item_item_reg_grid) {
        ItemItemParams p = best->params;
        p.reg = reg;
        RETURN_IF_ERROR(trial(p));
      }
    }
  }
  if (!passes(*best)) return absl::OkStatus();
  // Solved again rather than kept: the search holds few items² matrices.
  if (best->params.reg != latest_reg) {
    random_model = ItemItemModel();
    ASSIGN_OR_RETURN(latest_model,
                     SolveItemItem(latest_gram, best->params, threads));
  }
  latest_model.params = best->params;
  *chosen = std::move(latest_model);
  return absl::OkStatus();
}

}  // namespace recserve
