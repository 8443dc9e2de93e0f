#include "core/train/recency_weights.h"

#include "core/model/recency_factors.h"

namespace recserve {

std::vector<Rating> WeightByRecency(absl::Span<const Rating> ratings,
                                    int32_t num_users, float weight,
                                    float horizon) {
  std::vector<Rating> weighted(ratings.begin(), ratings.end());
  std::vector<std::vector<int64_t>> of_user(num_users);
  for (size_t i = 0; i < weighted.size(); ++i)
    of_user[weighted[i].user].push_back(static_cast<int64_t>(i));
  std::vector<int64_t> times;
  for (const std::vector<int64_t>& list : of_user) {
    times.clear();
    for (const int64_t i : list) times.push_back(weighted[i].timestamp);
    const std::vector<double> factors = RecencyFactors(times, weight, horizon);
    for (size_t p = 0; p < list.size(); ++p)
      weighted[list[p]].value *= static_cast<float>(factors[p]);
  }
  return weighted;
}

bool AnyUserHasTwoTimes(const Dataset& data) {
  std::vector<int64_t> first(data.num_users());
  std::vector<uint8_t> seen(data.num_users(), 0);
  for (const Rating& r : data.ratings) {
    if (!seen[r.user]) {
      seen[r.user] = 1;
      first[r.user] = r.timestamp;
    } else if (first[r.user] != r.timestamp) {
      return true;
    }
  }
  return false;
}

}  // namespace recserve
