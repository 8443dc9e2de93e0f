#include "core/synthetic/synthetic_events.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace recserve::synthetic {
namespace {

TEST(DislikeProbabilityTest, IsTheChanceTheLikingFallsBelowTheThreshold) {
  // s = 2: half the likings fall below 2.
  EXPECT_NEAR(DislikeProbability(2.0, 0.5), 0.35 * 0.5, 1e-12);
  // s = 3, σ = 0.5: Φ(−2) = 0.022750131948179.
  EXPECT_NEAR(DislikeProbability(3.0, 0.5), 0.35 * 0.022750131948179, 1e-12);
  EXPECT_NEAR(DislikeProbability(1.0, 0.5), 0.35 * (1 - 0.022750131948179),
              1e-12);
  // No noise: a step.
  EXPECT_EQ(DislikeProbability(1.99, 0.0), 0.35);
  EXPECT_EQ(DislikeProbability(2.0, 0.0), 0.0);
}

struct Summary {
  double views = 0, carts = 0, purchases = 0, dislikes = 0;
};

// The events of `pairs` pairs of the same liking.
Summary Draw(double liking, int pairs) {
  Summary s;
  std::vector<EventLine> lines;
  for (int j = 0; j < pairs; ++j) {
    Rng rng(7, kEventStream, j);
    lines.clear();
    DrawPairEvents(liking, 3, 1000, rng, &lines);
    EXPECT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].type, EventType::kView);  // every pair starts so
    EXPECT_EQ(lines[0].timestamp, 1000);
    bool cart = false, dislike = false;
    for (const EventLine& e : lines) {
      EXPECT_EQ(e.item, 3);
      EXPECT_GE(e.timestamp, 1000);
      EXPECT_GE(e.count, 1);
      switch (e.type) {
        case EventType::kView:
          s.views += e.count;
          break;
        case EventType::kCart:
          EXPECT_GT(e.timestamp, 1000);
          cart = true;
          ++s.carts;
          break;
        case EventType::kPurchase:
          EXPECT_TRUE(cart);  // only after a cart
          ++s.purchases;
          break;
        case EventType::kDislike:
          EXPECT_GT(e.timestamp, 1000);
          dislike = true;
          ++s.dislikes;
          break;
      }
    }
    if (dislike) {
      EXPECT_EQ(lines.size(), 2u);  // a view, then the dislike
    }
  }
  s.views /= pairs;
  s.carts /= pairs;
  s.purchases /= pairs;
  s.dislikes /= pairs;
  return s;
}

TEST(DrawPairEventsTest, MoreLikedItemsGetMoreViewsCartsAndPurchases) {
  const Summary low = Draw(1.5, 4000);
  const Summary mid = Draw(3.0, 4000);
  const Summary high = Draw(4.8, 4000);
  // Dislikes only below 2, with probability 0.35 (std. error 0.008).
  EXPECT_NEAR(low.dislikes, 0.35, 0.03);
  EXPECT_EQ(mid.dislikes, 0.0);
  EXPECT_EQ(high.dislikes, 0.0);
  // Mean views 1 + e^{0.9 (l − 3) + 0.18} roughly (E[e^{0.6 N}] = e^0.18,
  // less the floor): ≈ 1.5 at 3, ≈ 5.9 at 4.8.
  EXPECT_GT(mid.views, 1.3);
  EXPECT_LT(mid.views, 2.0);
  EXPECT_GT(high.views, 4.5);
  EXPECT_LT(high.views, 7.5);
  // Carts: 0.5 sigmoid(2.5 (l − 3.75)): 0.067 at 3, 0.494 at 4.8; purchases
  // 0.6 sigmoid(2 (l − 4)) of them: 0.073 and 0.500.
  EXPECT_NEAR(mid.carts, 0.067, 0.02);
  EXPECT_NEAR(high.carts, 0.494, 0.04);
  EXPECT_NEAR(high.purchases, 0.494 * 0.5, 0.04);
  EXPECT_LT(low.purchases, mid.purchases + 0.01);
}

TEST(DrawPairEventsTest, DeterministicForTheStream) {
  std::vector<EventLine> a, b;
  Rng rng_a(1, kEventStream, 5), rng_b(1, kEventStream, 5);
  for (int j = 0; j < 100; ++j) {
    DrawPairEvents(4.0, j, 100 * j, rng_a, &a);
    DrawPairEvents(4.0, j, 100 * j, rng_b, &b);
  }
  ASSERT_EQ(a.size(), b.size());
  for (size_t j = 0; j < a.size(); ++j) {
    EXPECT_EQ(a[j].timestamp, b[j].timestamp);
    EXPECT_EQ(a[j].type, b[j].type);
    EXPECT_EQ(a[j].count, b[j].count);
  }
  EXPECT_STREQ(EventTypeName(EventType::kPurchase), "purchase");
  EXPECT_STREQ(EventTypeName(EventType::kDislike), "dislike");
}

}  // namespace
}  // namespace recserve::synthetic
