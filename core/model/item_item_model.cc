#include "core/model/item_item_model.h"

#include <algorithm>
#include <limits>

#include "core/model/recency_factors.h"

namespace recserve {

WeightedHistory WeighHistory(absl::Span<const int32_t> items,
                             absl::Span<const int64_t> times,
                             const ItemItemParams& params) {
  // One entry per item, at its latest time (as training counts an item the
  // user interacted with more than once), ascending by item so that the
  // same interactions give the same sums to the bit in any order.
  std::vector<std::pair<int32_t, int64_t>> latest(items.size());
  for (size_t k = 0; k < items.size(); ++k) latest[k] = {items[k], times[k]};
  std::sort(latest.begin(), latest.end());
  size_t kept = 0;
  for (size_t k = 0; k < latest.size(); ++k) {
    if (kept > 0 && latest[kept - 1].first == latest[k].first) {
      latest[kept - 1].second = latest[k].second;  // sorted: the later
    } else {
      latest[kept++] = latest[k];
    }
  }
  latest.resize(kept);
  WeightedHistory history;
  history.items.reserve(kept);
  std::vector<int64_t> distinct_times;
  distinct_times.reserve(kept);
  for (const auto& [item, time] : latest) {
    history.items.push_back(item);
    distinct_times.push_back(time);
  }
  const std::vector<double> factors = RecencyFactors(
      distinct_times, params.recency_weight, params.recency_horizon);
  history.factors.assign(factors.begin(), factors.end());
  return history;
}

void AddItemItemScores(const Eigen::Ref<const FactorMatrix>& weights,
                       const WeightedHistory& history,
                       absl::Span<float> scores) {
  const Eigen::Index m = weights.rows();
  const Eigen::Index columns =
      std::min<Eigen::Index>(weights.cols(), scores.size());
  Eigen::Map<Eigen::RowVectorXf> out(scores.data(), columns);
  for (size_t k = 0; k < history.items.size(); ++k) {
    const int32_t item = history.items[k];
    if (item < 0 || item >= m) continue;
    out.noalias() += history.factors[k] * weights.row(item).head(columns);
  }
}

ItemItemScorer::ItemItemScorer(const ItemItemModel& model, const Dataset& train)
    : model_(model), num_items_(train.num_items()) {
  std::vector<std::vector<int32_t>> items(train.num_users());
  std::vector<std::vector<int64_t>> times(train.num_users());
  for (const Rating& r : train.ratings) {
    if (r.value < 0) continue;
    items[r.user].push_back(r.item);
    times[r.user].push_back(r.timestamp);
  }
  histories_.resize(train.num_users());
  for (int32_t user = 0; user < train.num_users(); ++user) {
    histories_[user] = WeighHistory(items[user], times[user], model.params);
    items[user] = {};
    times[user] = {};
  }
}

void ItemItemScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  std::fill(scores.begin(), scores.end(), 0.0f);
  if (user < 0 || user >= static_cast<int32_t>(histories_.size())) return;
  AddItemItemScores(model_.weights, histories_[user], scores);
}

}  // namespace recserve
