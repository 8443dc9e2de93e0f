#ifndef RECSERVE_CLIENT_INTERACTION_LIST_H_
#define RECSERVE_CLIENT_INTERACTION_LIST_H_

// The command-line syntax of recent interactions (recserve-cli --recent,
// recserve-bench's personalized requests): comma-separated
// `item[:rating[:weight]]`, e.g. "50,172:5,181:4:2" — item 50 unrated,
// item 172 rated 5, item 181 rated 4 with twice the confidence. Pure
// functions; thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "recserve/v1/recommender.pb.h"

namespace recserve::client {

// The interactions `text` lists, in order; "" gives none. A missing rating
// or weight is 0 (unrated; weight 1 on the server). Errors: InvalidArgument
// naming the entry (1-based) and what is wrong with it: an empty item id,
// more than two ':', a rating or weight that is not a finite number, a
// negative weight. Whether a rating is on the snapshot's scale is the
// server's to check.
absl::StatusOr<std::vector<v1::Interaction>> ParseInteractions(
    absl::string_view text);

// `interactions` back in the same syntax (ratings and weights of 0 left
// out), for messages and logs.
std::string FormatInteractions(
    const std::vector<v1::Interaction>& interactions);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_INTERACTION_LIST_H_
