#include "core/model/item_item_model.h"

#include <algorithm>
#include <limits>

#include "core/model/recency_factors.h"

namespace recserve {

WeightedHistory WeighHistory(absl::Span<const int32_t> items,
                             absl::Span<const int64_t> times,
                             const ItemItemParams& params) {
  const std::vector<double> factors =
      RecencyFactors(times, params.recency_weight, params.recency_horizon);
  // Ascending by item, repeats merged: the same interactions give the same
  // sums to the bit in whatever order they come.
  std::vector<std::pair<int32_t, float>> weighted(items.size());
  for (size_t k = 0; k < items.size(); ++k) {
    weighted[k] = {items[k], static_cast<float>(factors[k])};
  }
  std::sort(weighted.begin(), weighted.end());
  WeightedHistory history;
  history.items.reserve(items.size());
  history.factors.reserve(items.size());
  for (const auto& [item, factor] : weighted) {
    if (!history.items.empty() && history.items.back() == item) {
      history.factors.back() += factor;
    } else {
      history.items.push_back(item);
      history.factors.push_back(factor);
    }
  }
  return history;
}

void AddItemItemScores(const Eigen::Ref<const FactorMatrix>& weights,
                       const WeightedHistory& history,
                       absl::Span<float> scores) {
  const Eigen::Index m = weights.rows();
  Eigen::Map<Eigen::RowVectorXf> out(scores.data(), weights.cols());
  for (size_t k = 0; k < history.items.size(); ++k) {
    const int32_t item = history.items[k];
    if (item < 0 || item >= m) continue;
    out.noalias() += history.factors[k] * weights.row(item);
  }
}

ItemItemScorer::ItemItemScorer(const ItemItemModel& model, const Dataset& train)
    : model_(model), num_items_(train.num_items()) {
  // Each user's distinct positive items with the latest time of each.
  std::vector<std::vector<std::pair<int32_t, int64_t>>> cells(
      train.num_users());
  for (const Rating& r : train.ratings) {
    if (r.value < 0) continue;
    cells[r.user].emplace_back(r.item, r.timestamp);
  }
  histories_.resize(train.num_users());
  std::vector<int32_t> items;
  std::vector<int64_t> times;
  for (int32_t user = 0; user < train.num_users(); ++user) {
    auto& c = cells[user];
    std::sort(c.begin(), c.end());
    items.clear();
    times.clear();
    for (size_t k = 0; k < c.size(); ++k) {
      if (!items.empty() && items.back() == c[k].first) {
        times.back() = std::max(times.back(), c[k].second);
      } else {
        items.push_back(c[k].first);
        times.push_back(c[k].second);
      }
    }
    histories_[user] = WeighHistory(items, times, model.params);
    c.clear();
    c.shrink_to_fit();
  }
}

void ItemItemScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  std::fill(scores.begin(), scores.end(), 0.0f);
  if (user < 0 || user >= static_cast<int32_t>(histories_.size())) return;
  AddItemItemScores(model_.weights, histories_[user], scores);
}

}  // namespace recserve
