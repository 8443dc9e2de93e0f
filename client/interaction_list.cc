#include "client/interaction_list.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace recserve::client {
namespace {

// `field` of entry `entry` as a finite number, or an error naming both.
absl::StatusOr<double> ParseNumber(absl::string_view value,
                                   absl::string_view field, int entry,
                                   absl::string_view text) {
  double number = 0.0;
  if (!absl::SimpleAtod(value, &number) || !std::isfinite(number)) {
    return absl::InvalidArgumentError(
        absl::StrCat("recent entry ", entry, " '", text, "': ", field, " '",
                     value, "' is not a finite number"));
  }
  return number;
}

// `item@event[*weight]`, `at` the position of the '@'.
absl::StatusOr<v1::Interaction> ParseEvent(absl::string_view part, size_t at,
                                           int entry) {
  const absl::string_view item = part.substr(0, at);
  absl::string_view event = part.substr(at + 1);
  absl::string_view weight;
  if (const size_t star = event.find('*'); star != absl::string_view::npos) {
    weight = event.substr(star + 1);
    event = event.substr(0, star);
  }
  const auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat("recent entry ", entry, " '", part, "': ", what));
  };
  if (item.empty()) return error("empty item id");
  if (event.empty()) return error("empty event type (expected item@event)");
  if (absl::StrContains(event, ':')) {
    return error("an event takes no rating: expected item@event[*weight]");
  }
  v1::Interaction interaction;
  interaction.set_item_id(std::string(item));
  interaction.set_event(std::string(event));
  if (part.find('*', at) != absl::string_view::npos) {
    absl::StatusOr<double> w = ParseNumber(weight, "weight", entry, part);
    if (!w.ok()) return w.status();
    if (*w < 0) return error("weight must be >= 0");
    interaction.set_weight(*w);
  }
  return interaction;
}

}  // namespace

absl::StatusOr<std::vector<v1::Interaction>> ParseInteractions(
    absl::string_view text) {
  std::vector<v1::Interaction> out;
  if (text.empty()) return out;
  int entry = 0;
  for (const absl::string_view part : absl::StrSplit(text, ',')) {
    ++entry;
    if (const size_t at = part.rfind('@'); at != absl::string_view::npos) {
      absl::StatusOr<v1::Interaction> event = ParseEvent(part, at, entry);
      if (!event.ok()) return event.status();
      out.push_back(*std::move(event));
      continue;
    }
    const std::vector<absl::string_view> fields = absl::StrSplit(part, ':');
    if (fields.size() > 3) {
      return absl::InvalidArgumentError(
          absl::StrCat("recent entry ", entry, " '", part,
                       "': expected item[:rating[:weight]]"));
    }
    if (fields[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("recent entry ", entry, " '", part, "': empty item id"));
    }
    v1::Interaction interaction;
    interaction.set_item_id(std::string(fields[0]));
    if (fields.size() > 1) {
      absl::StatusOr<double> rating =
          ParseNumber(fields[1], "rating", entry, part);
      if (!rating.ok()) return rating.status();
      interaction.set_rating(*rating);
    }
    if (fields.size() > 2) {
      absl::StatusOr<double> weight =
          ParseNumber(fields[2], "weight", entry, part);
      if (!weight.ok()) return weight.status();
      if (*weight < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "recent entry ", entry, " '", part, "': weight must be >= 0"));
      }
      interaction.set_weight(*weight);
    }
    out.push_back(std::move(interaction));
  }
  return out;
}

std::string FormatInteractions(
    const std::vector<v1::Interaction>& interactions) {
  return absl::StrJoin(interactions, ",",
                       [](std::string* out, const v1::Interaction& i) {
                         absl::StrAppend(out, i.item_id());
                         if (!i.event().empty()) {
                           absl::StrAppend(out, "@", i.event());
                           if (i.weight() != 0) {
                             absl::StrAppend(out, "*", i.weight());
                           }
                           return;
                         }
                         if (i.rating() != 0 || i.weight() != 0) {
                           absl::StrAppend(out, ":", i.rating());
                         }
                         if (i.weight() != 0)
                           absl::StrAppend(out, ":", i.weight());
                       });
}

}  // namespace recserve::client
