#include "core/train/recency_weights.h"

#include <algorithm>
#include <cmath>

namespace recserve {

std::vector<Rating> WeightByRecency(absl::Span<const Rating> ratings,
                                    int32_t num_users, float weight,
                                    float horizon) {
  std::vector<Rating> weighted(ratings.begin(), ratings.end());
  std::vector<std::vector<int64_t>> of_user(num_users);
  for (size_t i = 0; i < weighted.size(); ++i)
    of_user[weighted[i].user].push_back(static_cast<int64_t>(i));
  std::vector<double> factor;
  for (std::vector<int64_t>& list : of_user) {
    std::stable_sort(list.begin(), list.end(), [&](int64_t a, int64_t b) {
      return weighted[a].timestamp > weighted[b].timestamp;
    });
    factor.assign(list.size(), 0.0);
    double sum = 0.0;
    size_t rank = 0;
    for (size_t p = 0; p < list.size(); ++p) {
      if (p > 0 &&
          weighted[list[p]].timestamp != weighted[list[p - 1]].timestamp)
        rank = p;
      factor[p] = 1.0 + weight * std::exp(-static_cast<double>(rank) / horizon);
      sum += factor[p];
    }
    const double mean = list.empty() ? 1.0 : sum / list.size();
    for (size_t p = 0; p < list.size(); ++p)
      weighted[list[p]].value *= static_cast<float>(factor[p] / mean);
  }
  return weighted;
}

}  // namespace recserve
