#include "tests/testutil/implicit_snapshot.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/train/implicit_als.h"
#include "gtest/gtest.h"

namespace recserve::testutil {

EventWeights ImplicitFixtureEvents() {
  EventWeights events;
  events.weights = {
      {"view", 1.0f}, {"cart", 3.0f}, {"purchase", 5.0f}, {"dislike", 2.0f}};
  events.negative = {"dislike"};
  return events;
}

SnapshotContents ImplicitFixture::Contents() const {
  SnapshotContents c;
  c.feedback = Feedback::kImplicit;
  c.train = &train;
  c.retrieval = &retrieval;
  c.fold_in = &fold_in;
  c.events = &events;
  c.items = &catalog;
  c.algo = "ials";
  c.ranking = {.candidates = 50, .blend_weight = 1.0f};
  return c;
}

ImplicitFixture MakeImplicitFixture(int32_t users, int32_t items,
                                    int32_t factors, float recency_weight,
                                    float recency_horizon) {
  ImplicitFixture f;
  f.events = ImplicitFixtureEvents();
  for (int32_t u = 0; u < users; ++u)
    f.train.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i) {
    f.train.items.GetOrAdd(absl::StrCat("i", i));
    f.catalog[absl::StrCat("i", i)] = {absl::StrCat("Item ", i),
                                       {absl::StrCat("g", i % 3)}};
  }
  const int32_t per_group = items / 3;
  const auto group_item = [&](int32_t group, int32_t k) {
    return group + 3 * (k % per_group);
  };
  // Cells in order of their first event, as the reader appends them.
  std::vector<std::pair<int32_t, int32_t>> order;
  std::map<std::pair<int32_t, int32_t>, float> cells;
  const auto add = [&](int32_t u, int32_t i, float value) {
    auto [it, inserted] = cells.emplace(std::make_pair(u, i), value);
    if (inserted) {
      order.emplace_back(u, i);
    } else {
      it->second += value;
    }
  };
  const char* const kTypes[] = {"purchase", "cart", "view"};
  for (int32_t u = 0; u + 1 < users; ++u) {
    const int32_t g = u % 3;
    for (int32_t j = 0; j < 6; ++j) {
      const float count = static_cast<float>(1 + (u + j) % 3);
      add(u, group_item(g, u * 5 + j * 7),
          f.events.weights.at(kTypes[j % 3]) * count);
    }
    add(u, group_item((g + 1) % 3, u), f.events.weights.at("view"));
    add(u, group_item((g + 2) % 3, 2 * u + 1), -f.events.weights.at("dislike"));
  }
  int64_t timestamp = 1000;
  for (const auto& [u, i] : order) {
    f.train.ratings.push_back({u, i, cells.at({u, i}), timestamp++});
  }
  ImplicitAlsOptions options;
  options.factors = factors;
  options.iterations = 10;
  options.reg = 0.5f;
  options.unobserved_weight = 0.2f;
  options.alpha = 2.0f;
  options.confidence_scale = ConfidenceScale::kLog;
  options.epsilon = 1.0f;
  options.reg_exponent = 0.5f;
  options.threads = 1;
  options.seed = 3;
  options.recency_weight = recency_weight;
  options.recency_horizon = recency_horizon;
  absl::StatusOr<RetrievalModel> retrieval =
      TrainImplicitAls(users, items, f.train.ratings, options);
  EXPECT_TRUE(retrieval.ok()) << retrieval.status();
  if (retrieval.ok()) f.retrieval = *std::move(retrieval);
  f.fold_in.retrieval = {.reg = options.reg,
                         .alpha = options.alpha,
                         .unobserved_weight = options.unobserved_weight,
                         .scale = options.confidence_scale,
                         .epsilon = options.epsilon,
                         .reg_exponent = options.reg_exponent,
                         .recency_weight = options.recency_weight,
                         .recency_horizon = options.recency_horizon};
  return f;
}

std::string PublishImplicitSnapshot(const std::string& root,
                                    const ImplicitFixture& fixture) {
  absl::StatusOr<std::string> version =
      PublishSnapshot(root, fixture.Contents());
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() ? *version : "";
}

}  // namespace recserve::testutil
