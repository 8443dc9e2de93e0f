#ifndef RECSERVE_CORE_DATA_EVENT_WEIGHTS_H_
#define RECSERVE_CORE_DATA_EVENT_WEIGHTS_H_

// How typed events (a data file's event column: "view", "cart", "purchase",
// "skip", ...) count as implicit feedback: each type's weight, and which
// types are negative ("not this"). The trainer's --event_weights and
// --negative_events; recorded in the snapshot so that the server folds in a
// request's events the same way.

#include <map>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recserve {

// The largest event weight: with request weights (at most 1e6) and
// training counts, strengths stay far inside float range.
inline constexpr float kMaxEventWeight = 1e6f;

// A plain value type.
struct EventWeights {
  // Weight of each named type, in (0, kMaxEventWeight]. A type not named
  // weighs 1.
  std::map<std::string, float> weights;
  // Types that are negative feedback: observed with preference 0 at the
  // confidence of their weighted counts, and seen (never recommended).
  std::set<std::string> negative;

  float WeightOf(absl::string_view event) const;
  bool IsNegative(absl::string_view event) const;
  bool empty() const { return weights.empty() && negative.empty(); }
};

// Parses the flags' text: `weights` as "view=1,cart=4,purchase=10" (names
// non-empty, no '=' or ','; spaces around names and numbers trimmed; a name
// at most once; weights in (0, kMaxEventWeight]) and `negative` as
// "dislike,skip". Either may be empty. Errors: InvalidArgument quoting the bad
// entry, e.g. "event weight \"cart=-1\": the weight must be a finite number > 0
// and
// <= 1e6".
absl::StatusOr<EventWeights> ParseEventWeights(absl::string_view weights,
                                               absl::string_view negative);

// "view=1,cart=4" and "dislike,skip" again (names sorted), for reports.
std::string EventWeightsText(const EventWeights& events);
std::string NegativeEventsText(const EventWeights& events);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_EVENT_WEIGHTS_H_
