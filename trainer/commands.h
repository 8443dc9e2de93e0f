#ifndef RECSERVE_TRAINER_COMMANDS_H_
#define RECSERVE_TRAINER_COMMANDS_H_

// recserve-train's commands, each in its own file with its own flags
// (train_main.cc, generate_main.cc, import_main.cc, add_items_main.cc); the
// flags they share, where the data comes from and where snapshots go, are in
// main.cc.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/pipeline/training_pipeline.h"

namespace recserve {

absl::Status RunTrain();
absl::Status RunGenerate();
absl::Status RunImport();
absl::Status RunAddItems();  // add_items_main.cc

// The data flags (--ratings, --format, --columns, --feedback, --items, ...)
// as a RatingSource; InvalidArgument naming the flag.
absl::StatusOr<RatingSource> SourceFromFlags();
// --out, --keep_versions, --build_index and the index flags.
SnapshotOutput OutputFromFlags();
// --ratings and --out as given (generate reads them as its own arguments).
std::string RatingsFlag();
std::string OutFlag();
int32_t ThreadsFlag();
uint64_t SeedFlag();

// `parsed`'s value into *out, or its error prefixed with "--flag: ".
template <typename T>
absl::Status Prefix(const char* flag, absl::StatusOr<T> parsed, T* out) {
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", parsed.status().message()));
  }
  *out = *std::move(parsed);
  return absl::OkStatus();
}

}  // namespace recserve

#endif  // RECSERVE_TRAINER_COMMANDS_H_
