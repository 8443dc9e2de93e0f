#include "core/serve/item_filter.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

absl::StatusOr<std::vector<int32_t>> LabelIds(
    const std::vector<std::string>& names, const char* field,
    const Snapshot& snapshot) {
  std::vector<int32_t> ids;
  ids.reserve(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const int32_t id = snapshot.FindLabel(names[i]);
    if (id == kUnknownIndex) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "] \"", names[i], "\" is not a label of this model",
          snapshot.num_labels() == 0 ? " (it has no item labels)" : ""));
    }
    ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::vector<char> Membership(const std::vector<int32_t>& ids, int32_t size) {
  std::vector<char> member(ids.empty() ? 0 : size, 0);
  for (const int32_t id : ids) member[id] = 1;
  return member;
}

}  // namespace

absl::StatusOr<ResolvedFilter> ResolvedFilter::Resolve(
    const ItemFilterSpec& spec, const Snapshot& snapshot) {
  ResolvedFilter filter;
  filter.snapshot_ = &snapshot;
  filter.active_ = !spec.empty();
  if (!filter.active_) return filter;
  ASSIGN_OR_RETURN(
      filter.include_ids_,
      LabelIds(spec.include_labels, "filter.include_labels", snapshot));
  ASSIGN_OR_RETURN(
      filter.exclude_ids_,
      LabelIds(spec.exclude_labels, "filter.exclude_labels", snapshot));
  filter.included_ = Membership(filter.include_ids_, snapshot.num_labels());
  filter.excluded_ = Membership(filter.exclude_ids_, snapshot.num_labels());
  filter.has_allow_list_ = !spec.item_ids.empty();
  for (const std::string& id : spec.item_ids) {
    const int32_t item = snapshot.FindItem(id);
    if (item != kUnknownIndex) filter.allow_list_.push_back(item);
  }
  std::sort(filter.allow_list_.begin(), filter.allow_list_.end());
  filter.allow_list_.erase(
      std::unique(filter.allow_list_.begin(), filter.allow_list_.end()),
      filter.allow_list_.end());
  return filter;
}

bool ResolvedFilter::Allows(int32_t item) const {
  if (!active_) return true;
  if (has_allow_list_ &&
      !std::binary_search(allow_list_.begin(), allow_list_.end(), item)) {
    return false;
  }
  if (include_ids_.empty() && exclude_ids_.empty()) return true;
  bool included = include_ids_.empty();
  for (const int32_t label : snapshot_->ItemLabels(item)) {
    if (!excluded_.empty() && excluded_[label]) return false;
    if (!included_.empty() && included_[label]) included = true;
  }
  return included;
}

}  // namespace recserve
