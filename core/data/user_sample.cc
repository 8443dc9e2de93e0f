#include "core/data/user_sample.h"

#include <algorithm>

#include "core/base/random_stream.h"

namespace recserve {

std::vector<Rating> SampleUsers(absl::Span<const Rating> ratings, double share,
                                uint64_t seed) {
  std::vector<Rating> out;
  // A share that is not positive (or NaN) selects nobody.
  if (!(share > 0)) return out;
  out.reserve(static_cast<size_t>(std::min(share, 1.0) * ratings.size() * 1.1) +
              16);
  for (const Rating& r : ratings) {
    if (RandomStream(seed, static_cast<uint64_t>(r.user)).Uniform() < share) {
      out.push_back(r);
    }
  }
  return out;
}

Dataset SampleUsersOf(const Dataset& data, int64_t keep, uint64_t seed) {
  if (static_cast<int64_t>(data.ratings.size()) <= keep) return data;
  Dataset out;
  out.users = data.users;
  out.items = data.items;
  out.ratings = SampleUsers(
      data.ratings, static_cast<double>(keep) / data.ratings.size(), seed);
  return out;
}

}  // namespace recserve
