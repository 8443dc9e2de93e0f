#ifndef RECSERVE_CLIENT_INTERACTION_LIST_H_
#define RECSERVE_CLIENT_INTERACTION_LIST_H_

// The command-line syntax of recent interactions (recserve-cli --recent,
// recserve-bench's personalized requests): comma-separated entries, each
//  - `item[:rating[:weight]]` for snapshots trained on ratings, e.g.
//    "50,172:5,181:4:2" — item 50 unrated, item 172 rated 5, item 181 rated
//    4 with twice the confidence; or
//  - `item@event[*weight]` for snapshots trained on events (ModelInfo.
//    feedback "implicit"), e.g. "50@view,172@purchase,181@view*3,9@dislike"
//    — the event type (one the snapshot knows) and a multiplier of its
//    weight (a count). The item id is what precedes the last '@'.
// Pure functions; thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "recserve/v1/recommender.pb.h"

namespace recserve::client {

// The interactions `text` lists, in order; "" gives none. A missing rating
// or weight is 0 (unrated; weight 1 on the server). Errors: InvalidArgument
// naming the entry (1-based) and what is wrong with it: an empty item id or
// event, more than two ':', a rating or weight that is not a finite number,
// a negative weight, a ':' after an '@'. Whether a rating is on the snapshot's
// scale is the server's to check.
absl::StatusOr<std::vector<v1::Interaction>> ParseInteractions(
    absl::string_view text);

// `interactions` back in the same syntax (ratings and weights of 0 left
// out), for messages and logs.
std::string FormatInteractions(
    const std::vector<v1::Interaction>& interactions);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_INTERACTION_LIST_H_
