#include "tests/testutil/moved_on_users.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"

namespace recserve {
namespace testutil {

Dataset MovedOnUsers(float value) {
  constexpr int kUsers = 200, kGroups = 5, kGroupSize = 20;
  Dataset data;
  for (int i = 0; i < kGroups * kGroupSize; ++i)
    data.items.GetOrAdd(absl::StrCat("i", i));
  std::mt19937 rng(5);
  std::vector<int> slots(kGroupSize);
  std::iota(slots.begin(), slots.end(), 0);
  for (int u = 0; u < kUsers; ++u) {
    const int32_t user = data.users.GetOrAdd(absl::StrCat("u", u));
    const int old_group = u % kGroups;
    const int new_group =
        (old_group + 1 + u / kGroups % (kGroups - 1)) % kGroups;
    int64_t time = 0;
    std::shuffle(slots.begin(), slots.end(), rng);
    for (int j = 0; j < 10; ++j) {
      data.ratings.push_back(
          {user, old_group * kGroupSize + slots[j], value, ++time});
    }
    std::shuffle(slots.begin(), slots.end(), rng);
    for (int j = 0; j < 4; ++j) {
      data.ratings.push_back(
          {user, new_group * kGroupSize + slots[j], value, ++time});
    }
  }
  return data;
}

}  // namespace testutil
}  // namespace recserve
