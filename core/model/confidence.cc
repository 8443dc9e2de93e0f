#include "core/model/confidence.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace recserve {

absl::string_view ConfidenceScaleName(ConfidenceScale scale) {
  return scale == ConfidenceScale::kLog ? "log" : "linear";
}

absl::StatusOr<ConfidenceScale> ParseConfidenceScale(absl::string_view name) {
  if (name == "linear") return ConfidenceScale::kLinear;
  if (name == "log") return ConfidenceScale::kLog;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown confidence scale \"", name, "\" (known: linear, log)"));
}

}  // namespace recserve
