#include "core/data/event_weights.h"

#include <charconv>
#include <cmath>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/delimited_line.h"

namespace recserve {
namespace {

// The shortest text that parses back to the same float.
std::string FloatText(float value) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

absl::Status BadEntry(absl::string_view what, absl::string_view entry,
                      absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " \"", entry, "\": ", problem));
}

// Checks a name: non-empty, no '=' (',' cannot occur after the split).
absl::Status CheckName(absl::string_view what, absl::string_view entry,
                       absl::string_view name) {
  if (name.empty()) return BadEntry(what, entry, "the event name is empty");
  if (name.find('=') != absl::string_view::npos) {
    return BadEntry(what, entry, "an event name must not contain '='");
  }
  return absl::OkStatus();
}

}  // namespace

float EventWeights::WeightOf(absl::string_view event) const {
  const auto it = weights.find(std::string(event));
  return it == weights.end() ? 1.0f : it->second;
}

bool EventWeights::IsNegative(absl::string_view event) const {
  return negative.count(std::string(event)) > 0;
}

absl::StatusOr<EventWeights> ParseEventWeights(absl::string_view weights,
                                               absl::string_view negative) {
  EventWeights events;
  weights = absl::StripAsciiWhitespace(weights);
  if (!weights.empty()) {
    for (absl::string_view entry : absl::StrSplit(weights, ',')) {
      entry = absl::StripAsciiWhitespace(entry);
      const size_t eq = entry.find('=');
      if (eq == absl::string_view::npos) {
        return BadEntry("event weight", entry,
                        "expected name=weight, e.g. \"purchase=10\"");
      }
      const absl::string_view name =
          absl::StripAsciiWhitespace(entry.substr(0, eq));
      const absl::string_view number =
          absl::StripAsciiWhitespace(entry.substr(eq + 1));
      if (absl::Status s = CheckName("event weight", entry, name); !s.ok()) {
        return s;
      }
      float weight = 0;
      if (!ParseFloat(number, &weight) || !std::isfinite(weight) ||
          !(weight > 0) || weight > kMaxEventWeight) {
        return BadEntry("event weight", entry,
                        "the weight must be a finite number > 0 and <= 1e6");
      }
      if (!events.weights.emplace(std::string(name), weight).second) {
        return BadEntry("event weight", entry,
                        absl::StrCat("the event \"", name,
                                     "\" is weighted more than once"));
      }
    }
  }
  negative = absl::StripAsciiWhitespace(negative);
  if (!negative.empty()) {
    for (absl::string_view entry : absl::StrSplit(negative, ',')) {
      const absl::string_view name = absl::StripAsciiWhitespace(entry);
      if (absl::Status s = CheckName("negative event", name, name); !s.ok()) {
        return s;
      }
      if (!events.negative.emplace(name).second) {
        return BadEntry("negative event", name, "named more than once");
      }
    }
  }
  return events;
}

std::string EventWeightsText(const EventWeights& events) {
  return absl::StrJoin(
      events.weights, ",",
      [](std::string* out, const std::pair<const std::string, float>& entry) {
        absl::StrAppend(out, entry.first, "=", FloatText(entry.second));
      });
}

std::string NegativeEventsText(const EventWeights& events) {
  return absl::StrJoin(events.negative, ",");
}

}  // namespace recserve
