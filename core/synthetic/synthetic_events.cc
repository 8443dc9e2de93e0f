#include "core/synthetic/synthetic_events.h"

#include <algorithm>
#include <cmath>

namespace recserve::synthetic {
namespace {

constexpr uint32_t kDislikeDelaySeconds = 600;
constexpr uint32_t kCartDelaySeconds = 3600;
constexpr uint32_t kPurchaseDelaySeconds = 2 * 86400;
constexpr uint32_t kRevisitDelaySeconds = 14 * 86400;

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kView:
      return "view";
    case EventType::kCart:
      return "cart";
    case EventType::kPurchase:
      return "purchase";
    case EventType::kDislike:
      return "dislike";
  }
  return "?";
}

void DrawPairEvents(double liking, int32_t item, int64_t time, Rng& rng,
                    std::vector<EventLine>* out) {
  if (liking < kDislikeBelow && rng.Uniform() < kDislikeProbability) {
    out->push_back({time, item, EventType::kView, 1});
    out->push_back({time + 1 + rng.Below(kDislikeDelaySeconds), item,
                    EventType::kDislike, 1});
    return;
  }
  const double mean =
      std::exp(kViewSlope * (liking - kViewPivot) + kViewLogSd * rng.Normal());
  const double extra = std::floor(mean * rng.Exponential());
  const int64_t views =
      1 + static_cast<int64_t>(std::min(extra, double{kMaxViews - 1}));
  if (views >= 2 && rng.Uniform() < kRevisitProbability) {
    const int64_t first =
        1 + static_cast<int64_t>(rng.Below64(static_cast<uint64_t>(views - 1)));
    out->push_back({time, item, EventType::kView, first});
    out->push_back({time + 1 + rng.Below(kRevisitDelaySeconds), item,
                    EventType::kView, views - first});
  } else {
    out->push_back({time, item, EventType::kView, views});
  }
  if (rng.Uniform() < kCartMax * Sigmoid(kCartSlope * (liking - kCartPivot))) {
    const int64_t cart = time + 1 + rng.Below(kCartDelaySeconds);
    out->push_back({cart, item, EventType::kCart, 1});
    if (rng.Uniform() <
        kPurchaseMax * Sigmoid(kPurchaseSlope * (liking - kPurchasePivot))) {
      out->push_back({cart + 1 + rng.Below(kPurchaseDelaySeconds), item,
                      EventType::kPurchase, 1});
    }
  }
}

double DislikeProbability(double score, double noise) {
  if (noise <= 0) return score < kDislikeBelow ? kDislikeProbability : 0.0;
  return kDislikeProbability * 0.5 *
         std::erfc((score - kDislikeBelow) / (noise * std::sqrt(2.0)));
}

}  // namespace recserve::synthetic
