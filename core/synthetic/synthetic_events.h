#ifndef RECSERVE_CORE_SYNTHETIC_SYNTHETIC_EVENTS_H_
#define RECSERVE_CORE_SYNTHETIC_SYNTHETIC_EVENTS_H_

// The event model of the synthetic generator's events mode
// (GeneratorOptions::events): what a user does with an item it was exposed
// to, from how much the user likes it. Internal to GenerateSyntheticData
// (core/synthetic/synthetic_generator.h) and its oracle; not for other
// callers.
//
// The liking l of an exposed (user, item) pair is the noisy score the rating
// mode rounds into stars, s_ui + σZ (same draws, so the events of a seed
// describe the same exposures and tastes as its ratings). Then:
//  - dislike: when l < kDislikeBelow, with probability kDislikeProbability,
//    the user views the item once and dislikes it shortly after (nothing
//    else);
//  - otherwise views: 1 + floor(m · E) with E ~ Exp(1) and
//    m = exp(kViewSlope (l − kViewPivot) + kViewLogSd · N(0, 1)): long-tailed
//    and growing with l; with probability kRevisitProbability a count >= 2 is
//    split into two "view" lines, the second up to two weeks later;
//  - cart: with probability kCartMax · sigmoid(kCartSlope (l − kCartPivot)),
//    within the hour after the first view;
//  - purchase, only after a cart: with probability
//    kPurchaseMax · sigmoid(kPurchaseSlope (l − kPurchasePivot)), within two
//    days after it.

#include <cstdint>
#include <vector>

#include "core/synthetic/synthetic_rng.h"

namespace recserve::synthetic {

inline constexpr double kDislikeBelow = 2.0;
inline constexpr double kDislikeProbability = 0.35;
inline constexpr double kViewSlope = 0.9;
inline constexpr double kViewPivot = 3.0;
inline constexpr double kViewLogSd = 0.6;
inline constexpr int64_t kMaxViews = 100000;
inline constexpr double kRevisitProbability = 0.25;
inline constexpr double kCartMax = 0.5;
inline constexpr double kCartSlope = 2.5;
inline constexpr double kCartPivot = 3.75;
inline constexpr double kPurchaseMax = 0.6;
inline constexpr double kPurchaseSlope = 2.0;
inline constexpr double kPurchasePivot = 4.0;

// The event types, in the order their names are listed.
enum class EventType : uint8_t { kView, kCart, kPurchase, kDislike };
inline constexpr int kEventTypes = 4;
// "view", "cart", "purchase", "dislike".
const char* EventTypeName(EventType type);

// How the events file is read back (ReadRatings with kGeneric and
// Feedback::kImplicit): its column mapping, the event weights and the
// negative type.
inline constexpr const char* kEventsHeader =
    "userId,movieId,event,count,timestamp";
inline constexpr const char* kEventsColumns =
    "user=userId,item=movieId,event=event,count=count,timestamp=timestamp";
inline constexpr const char* kEventWeights = "view=1,cart=4,purchase=10";
inline constexpr const char* kNegativeEvents = "dislike";

struct EventLine {
  int64_t timestamp = 0;
  int32_t item = 0;  // generator index (id − 1)
  EventType type = EventType::kView;
  int64_t count = 1;
};

// Appends the events of one exposed pair with liking `liking`, first seen at
// `time`, to `*out`, drawing from `rng`. Every line is at `time` or later;
// a dislike is strictly later than its view.
void DrawPairEvents(double liking, int32_t item, int64_t time, Rng& rng,
                    std::vector<EventLine>* out);

// P(the pair is disliked | exposed) for noise-free score `score` and noise
// σ = `noise` >= 0: kDislikeProbability · Φ((kDislikeBelow − score) / σ) (a
// step at kDislikeBelow when σ = 0).
double DislikeProbability(double score, double noise);

}  // namespace recserve::synthetic

#endif  // RECSERVE_CORE_SYNTHETIC_SYNTHETIC_EVENTS_H_
