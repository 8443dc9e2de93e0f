#include "client/interaction_list.h"

#include <cmath>

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

}  // namespace

absl::StatusOr<std::vector<v1::Interaction>> ParseInteractions(
    absl::string_view text) {
  std::vector<v1::Interaction> out;
  if (text.empty()) return out;
  int entry = 0;
  for (const absl::string_view part : absl::StrSplit(text, ',')) {
    ++entry;
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
                         if (i.rating() != 0 || i.weight() != 0) {
                           absl::StrAppend(out, ":", i.rating());
                         }
                         if (i.weight() != 0)
                           absl::StrAppend(out, ":", i.weight());
                       });
}

}  // namespace recserve::client
