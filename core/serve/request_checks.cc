#include "core/serve/request_checks.h"

#include <cmath>

#include "absl/strings/str_cat.h"
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

absl::Status CheckRecent(const std::vector<RecentInteraction>& recent,
                         const RatingScale& scale,
                         const ServingLimits& limits) {
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
                                 const RatingScale& scale,
                                 const ServingLimits& limits,
                                 const ServingPolicy& policy) {
  RETURN_IF_ERROR(CheckId("user_id", q.user_id, limits));
  RETURN_IF_ERROR(CheckCount("n", q.n, limits));
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
  RETURN_IF_ERROR(CheckRecent(q.recent, scale, limits));
  return CheckFilterSizes(q.filter, limits);
}

}  // namespace recserve
