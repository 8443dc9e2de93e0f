#include "core/serve/request_checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/status_macros.h"

namespace recserve {

absl::Status CheckId(absl::string_view field, absl::string_view id,
                     const ServingLimits& limits) {
  if (id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, " is empty"));
  }
  if (static_cast<int64_t>(id.size()) > limits.max_id_length) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is ", id.size(), " bytes long; the maximum is ",
                     limits.max_id_length));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(absl::string_view field, int32_t value,
                        const ServingLimits& limits) {
  if (value < 1 || value > limits.max_results) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must be in [1, ", limits.max_results, "], got ", value));
  }
  return absl::OkStatus();
}

namespace {

// "view, cart, dislike (negative)" or "none".
std::string KnownEvents(const EventWeights* events) {
  std::vector<std::string> names;
  if (events != nullptr) {
    for (const auto& [name, weight] : events->weights) {
      names.push_back(events->negative.count(name)
                          ? absl::StrCat(name, " (negative)")
                          : name);
    }
    for (const std::string& name : events->negative) {
      if (!events->weights.count(name)) {
        names.push_back(absl::StrCat(name, " (negative)"));
      }
    }
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

bool KnowsEvent(const EventWeights* events, const std::string& event) {
  return events != nullptr &&
         (events->weights.count(event) || events->negative.count(event));
}

}  // namespace

RecentRules RecentRules::Of(const Snapshot& snapshot) {
  return {.feedback = snapshot.feedback(),
          .scale = snapshot.rating_scale(),
          .events = &snapshot.events()};
}

absl::Status CheckRecent(const std::vector<RecentInteraction>& recent,
                         const RatingScale& scale,
                         const ServingLimits& limits) {
  return CheckRecent(recent, RecentRules{.scale = scale}, limits);
}

absl::Status CheckRecent(const std::vector<RecentInteraction>& recent,
                         const RecentRules& rules,
                         const ServingLimits& limits) {
  const RatingScale& scale = rules.scale;
  const bool implicit = rules.feedback == Feedback::kImplicit;
  if (static_cast<int64_t>(recent.size()) > limits.max_recent) {
    return absl::InvalidArgumentError(
        absl::StrCat("recent has ", recent.size(),
                     " interactions; the maximum is ", limits.max_recent));
  }
  for (size_t i = 0; i < recent.size(); ++i) {
    const RecentInteraction& x = recent[i];
    const std::string field = absl::StrCat("recent[", i, "]");
    RETURN_IF_ERROR(
        CheckId(absl::StrCat(field, ".item_id"), x.item_id, limits));
    if (static_cast<int64_t>(x.event.size()) > limits.max_id_length) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".event is ", x.event.size(),
                       " bytes long; the maximum is ", limits.max_id_length));
    }
    if (implicit) {
      if (x.rating != 0.0) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".rating is ", x.rating,
            "; this snapshot learned from events (implicit feedback) and "
            "takes no ratings: send an event and a weight"));
      }
      if (!x.event.empty() && !KnowsEvent(rules.events, x.event)) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ".event \"", x.event,
                         "\" is not an event type this snapshot knows (",
                         KnownEvents(rules.events), ")"));
      }
    } else if (!x.event.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".event is \"", x.event,
          "\"; this snapshot learned from ratings (explicit feedback): send "
          "a rating, not an event"));
    }
    if (!std::isfinite(x.rating) ||
        (x.rating != 0.0 && (x.rating < scale.min || x.rating > scale.max))) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ".rating is ", x.rating, "; it must be 0 (no rating) or in [",
          scale.min, ", ", scale.max, "]"));
    }
    if (!(x.weight >= 0.0 && x.weight <= kMaxInteractionWeight)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".weight is ", x.weight, "; it must be in [0, ",
                       kMaxInteractionWeight, "] (0 means 1)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFilterSizes(const ItemFilterSpec& filter,
                              const ServingLimits& limits) {
  const size_t labels =
      filter.include_labels.size() + filter.exclude_labels.size();
  if (static_cast<int64_t>(labels) > limits.max_filter_labels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "filter.include_labels and filter.exclude_labels hold ", labels,
        " labels; the maximum is ", limits.max_filter_labels));
  }
  for (const auto* list : {&filter.include_labels, &filter.exclude_labels}) {
    const char* name = list == &filter.include_labels ? "filter.include_labels"
                                                      : "filter.exclude_labels";
    for (size_t i = 0; i < list->size(); ++i) {
      if ((*list)[i].empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, "[", i, "] is empty"));
      }
    }
  }
  if (static_cast<int64_t>(filter.item_ids.size()) > limits.max_filter_items) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter.item_ids has ", filter.item_ids.size(),
                     " ids; the maximum is ", limits.max_filter_items));
  }
  for (size_t i = 0; i < filter.item_ids.size(); ++i) {
    RETURN_IF_ERROR(CheckId(absl::StrCat("filter.item_ids[", i, "]"),
                            filter.item_ids[i], limits));
  }
  return absl::OkStatus();
}

absl::Status CheckRecommendQuery(const RecommendQuery& q,
                                 const RecentRules& rules,
                                 const ServingLimits& limits,
                                 const ServingPolicy& policy) {
  RETURN_IF_ERROR(CheckId("user_id", q.user_id, limits));
  RETURN_IF_ERROR(CheckCount("n", q.n, limits));
  if (q.cold_items < 0 || q.cold_items > q.n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cold_items must be in [0, n] = [0, ", q.n,
        "] (slots of n reserved for cold items), got ", q.cold_items));
  }
  if (static_cast<int64_t>(q.exclude_item_ids.size()) > limits.max_exclusions) {
    return absl::InvalidArgumentError(
        absl::StrCat("exclude_item_ids has ", q.exclude_item_ids.size(),
                     " ids; the maximum is ", limits.max_exclusions));
  }
  if (q.candidates < 0 || q.candidates > limits.max_candidates) {
    return absl::InvalidArgumentError(
        absl::StrCat("candidates must be in [0, ", limits.max_candidates,
                     "] (0 = the model's default), got ", q.candidates));
  }
  if (q.ef < 0 || q.ef > limits.max_ef) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef must be in [0, ", limits.max_ef,
                     "] (0 = the server's default), got ", q.ef));
  }
  if (q.exact && !policy.allow_exact) {
    return absl::InvalidArgumentError(
        "exact retrieval is disabled on this server");
  }
  RETURN_IF_ERROR(CheckRecent(q.recent, rules, limits));
  return CheckFilterSizes(q.filter, limits);
}

}  // namespace recserve
