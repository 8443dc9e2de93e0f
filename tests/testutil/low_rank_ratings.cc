#include "tests/testutil/low_rank_ratings.h"

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"

namespace recserve {
namespace testutil {

LowRankRatings MakeLowRankRatings(int32_t users, int32_t items, int32_t rank,
                                  double density, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::vector<double>> p(users, std::vector<double>(rank));
  std::vector<std::vector<double>> q(items, std::vector<double>(rank));
  std::vector<double> bu(users), bi(items);
  for (auto& row : p)
    for (double& v : row) v = 0.6 * normal(rng);
  for (auto& row : q)
    for (double& v : row) v = 0.6 * normal(rng);
  for (double& b : bu) b = 0.3 * normal(rng);
  for (double& b : bi) b = 0.3 * normal(rng);
  LowRankRatings out;
  out.noise = noise;
  for (int32_t u = 0; u < users; ++u)
    out.data.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i)
    out.data.items.GetOrAdd(absl::StrCat("i", i));
  auto add = [&](int32_t u, int32_t i, int64_t t) {
    double s = 3.5 + bu[u] + bi[i];
    for (int32_t d = 0; d < rank; ++d) s += p[u][d] * q[i][d];
    out.data.ratings.push_back(
        {u, i, static_cast<float>(s + noise * normal(rng)), t});
  };
  int64_t t = 0;
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t i = 0; i < items; ++i) {
      // Two fixed diagonals guarantee every row and column has ratings.
      const bool forced = (i % users == u) || ((i + 1) % users == u) ||
                          (u % items == i) || ((u + 1) % items == i);
      if (forced || uniform(rng) < density) add(u, i, ++t);
    }
  }
  return out;
}

}  // namespace testutil
}  // namespace recserve
