#include "tests/testutil/tiny_model.h"

#include <random>

#include "absl/strings/str_cat.h"

namespace recserve {
namespace testutil {

TinyModel MakeTinyModel(int32_t num_users, int32_t num_items, int32_t factors,
                        int32_t ratings_per_user, uint64_t seed) {
  TinyModel t;
  for (int32_t u = 0; u < num_users; ++u)
    t.train.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < num_items; ++i)
    t.train.items.GetOrAdd(absl::StrCat("i", i));
  for (int32_t u = 0; u + 1 < num_users; ++u) {
    for (int32_t j = 0; j < ratings_per_user; ++j) {
      t.train.ratings.push_back(Rating{u, (u * 7 + j * 3) % num_items,
                                       static_cast<float>(1 + (u + j) % 5),
                                       1000 * int64_t{u} + j});
    }
  }
  if (num_users > 1 && num_items > 0) {
    t.train.ratings.push_back(Rating{0, 0, 4.0f, 5});
    t.train.ratings.push_back(Rating{0, 0, 2.0f, 6});
  }
  t.model = MakeInitialModel(num_users, num_items, factors, 0.5f, seed);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> bias(-1.0f, 1.0f);
  for (int32_t u = 0; u < num_users; ++u) t.model.user_bias[u] = bias(rng);
  for (int32_t i = 0; i < num_items; ++i) t.model.item_bias[i] = bias(rng);
  t.model.global_mean = 3.25f;
  t.model.scale = RatingScale{1.0f, 5.0f, 1.0f};
  for (int32_t i = 0; i < num_items; i += 2) {
    t.catalog[absl::StrCat("i", i)] =
        ItemMetadata{absl::StrCat("Amélie ", i, " \xe2\x98\x85\tpart\ntwo"),
                     {"Comedy", "Romance"}};
  }
  return t;
}

RetrievalModel MakeTinyRetrieval(int32_t num_users, int32_t num_items,
                                int32_t factors, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  RetrievalModel r;
  r.user_factors.resize(num_users, factors);
  r.item_factors.resize(num_items, factors);
  for (int64_t i = 0; i < r.user_factors.size(); ++i) {
    r.user_factors.data()[i] = value(rng);
  }
  for (int64_t i = 0; i < r.item_factors.size(); ++i) {
    r.item_factors.data()[i] = value(rng);
  }
  return r;
}

}  // namespace testutil
}  // namespace recserve
