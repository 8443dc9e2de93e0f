#include "core/data/id_interner.h"

#include <algorithm>
#include <cstddef>

namespace recserve {
namespace {

constexpr uint32_t kMaxValue = 1u << 24;  // Array of at most 64 MiB.

bool CanonicalValue(absl::string_view id, uint32_t* value) {
  if (id.empty() || id.size() > 8 || (id[0] == '0' && id.size() > 1)) {
    return false;
  }
  uint32_t v = 0;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  *value = v;
  return v < kMaxValue;
}

}  // namespace

int32_t IdInterner::GetOrAdd(absl::string_view id) {
  if (last_index_ != kUnknownIndex && id == last_) return last_index_;
  uint32_t value;
  if (CanonicalValue(id, &value)) {
    if (value >= by_value_.size()) {
      by_value_.resize(
          std::min<size_t>(std::max<size_t>(value + 1, by_value_.size() * 2),
                           kMaxValue),
          kUnknownIndex);
    }
    int32_t& slot = by_value_[value];
    if (slot == kUnknownIndex) slot = map_->GetOrAdd(id);
    last_index_ = slot;
  } else {
    last_index_ = map_->GetOrAdd(id);
  }
  last_.assign(id.data(), id.size());
  return last_index_;
}

}  // namespace recserve
