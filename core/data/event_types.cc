#include "core/data/event_types.h"

#include <string>

namespace recserve {

EventTypes::Type& EventTypes::Find(absl::string_view name) {
  if (last_ != nullptr && last_name_ == name) return *last_;
  auto it = types_.find(name);
  if (it == types_.end()) {
    it = types_
             .emplace(std::string(name),
                      Type{events_.WeightOf(name), events_.IsNegative(name)})
             .first;
  }
  last_name_.assign(name.data(), name.size());
  last_ = &it->second;
  return *last_;
}

std::map<std::string, int64_t> EventTypes::LinesByName() const {
  std::map<std::string, int64_t> lines;
  for (const auto& [name, type] : types_) {
    if (type.lines > 0) lines[name] = type.lines;
  }
  return lines;
}

}  // namespace recserve
