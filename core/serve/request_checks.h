#ifndef RECSERVE_CORE_SERVE_REQUEST_CHECKS_H_
#define RECSERVE_CORE_SERVE_REQUEST_CHECKS_H_

// The argument checks of ServingModel's operations: each returns OK or
// InvalidArgument with a message that names the field ("n", "recent[3].
// rating", "filter.item_ids", ...).

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/data/event_weights.h"
#include "core/data/ratings.h"
#include "core/serve/serving_model.h"

namespace recserve {

// 1..max_id_length bytes.
absl::Status CheckId(absl::string_view field, absl::string_view id,
                     const ServingLimits& limits);
// 1..max_results.
absl::Status CheckCount(absl::string_view field, int32_t value,
                        const ServingLimits& limits);
// A recent interaction's weight at most: far beyond any useful confidence,
// and small enough that confidences stay finite in float.
inline constexpr double kMaxInteractionWeight = 1e6;

// What a snapshot accepts in recent interactions (Snapshot::feedback and
// friends).
struct RecentRules {
  Feedback feedback = Feedback::kExplicit;
  // Explicit: ratings are 0 or on this scale.
  RatingScale scale;
  // Implicit: the event types it knows (weights and negative); null = none.
  const EventWeights* events = nullptr;

  static RecentRules Of(const Snapshot& snapshot);
};

// At most max_recent; each item id valid, weight in [0,
// kMaxInteractionWeight], event at most max_id_length bytes. Explicit: rating
// finite and 0 or on `rules.scale`, event empty ("this snapshot learned from
// ratings"). Implicit: rating 0, event empty or a type `rules.events` knows
// (the message lists them).
absl::Status CheckRecent(const std::vector<RecentInteraction>& recent,
                         const RecentRules& rules, const ServingLimits& limits);
// Explicit rules on `scale`.
absl::Status CheckRecent(const std::vector<RecentInteraction>& recent,
                         const RatingScale& scale, const ServingLimits& limits);
// Sizes only (labels are resolved against a snapshot elsewhere): labels at
// most max_filter_labels together, each non-empty; item ids at most
// max_filter_items, each a valid id.
absl::Status CheckFilterSizes(const ItemFilterSpec& filter,
                              const ServingLimits& limits);
absl::Status CheckRecommendQuery(const RecommendQuery& query,
                                 const RecentRules& rules,
                                 const ServingLimits& limits,
                                 const ServingPolicy& policy);

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_REQUEST_CHECKS_H_
