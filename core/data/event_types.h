#ifndef RECSERVE_CORE_DATA_EVENT_TYPES_H_
#define RECSERVE_CORE_DATA_EVENT_TYPES_H_

// The event types met while reading one file (ReadRatings' event column).

#include <cstdint>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "core/data/event_weights.h"

namespace recserve {

// Each event type's weight and polarity, looked up once per type rather than
// once per line, and the lines read of it.
//
// Ownership: `events` is borrowed and must outlive the object.
// Thread-safety: not thread-safe.
class EventTypes final {
 public:
  struct Type {
    float weight = 1;       // events.WeightOf(name).
    bool negative = false;  // events.IsNegative(name).
    int64_t lines = 0;      // Counted by the caller.
  };

  explicit EventTypes(const EventWeights& events) : events_(events) {}
  EventTypes(const EventTypes&) = delete;
  EventTypes& operator=(const EventTypes&) = delete;

  // The entry of `name`, added on first sight. The reference stays valid
  // until the next call.
  Type& Find(absl::string_view name);

  // Lines by type name, for the types with lines.
  std::map<std::string, int64_t> LinesByName() const;

 private:
  const EventWeights& events_;
  // An insert may move the entries; last_ is set after it, and callers hold
  // a reference only until their next call.
  absl::flat_hash_map<std::string, Type> types_;
  // The previous line's type: logs often repeat one.
  std::string last_name_;
  Type* last_ = nullptr;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_EVENT_TYPES_H_
