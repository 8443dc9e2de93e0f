// recserve-train add-items: new items placed from their metadata into a new
// snapshot version, without retraining (core/pipeline/add_items.h).

#include <cstdio>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "core/base/status_macros.h"
#include "core/pipeline/add_items.h"
#include "trainer/commands.h"

ABSL_DECLARE_FLAG(std::string, items);
ABSL_DECLARE_FLAG(std::string, items_format);
ABSL_DECLARE_FLAG(std::string, item_labels);
ABSL_DECLARE_FLAG(std::string, item_tags);
ABSL_DECLARE_FLAG(bool, skip_bad_lines);
ABSL_DECLARE_FLAG(int32_t, keep_versions);

ABSL_FLAG(std::string, snapshot_dir, "",
          "add-items: the snapshot root whose LATEST version gets the items "
          "(the --out of the training run).");

namespace recserve {

absl::Status RunAddItems() {
  AddItemsOptions o;
  o.root = absl::GetFlag(FLAGS_snapshot_dir);
  o.items_path = absl::GetFlag(FLAGS_items);
  if (o.root.empty() || o.items_path.empty()) {
    return absl::InvalidArgumentError(
        "add-items needs --snapshot_dir DIR --items FILE");
  }
  RETURN_IF_ERROR(Prefix("items_format",
                         ParseItemFormat(absl::GetFlag(FLAGS_items_format)),
                         &o.items.format));
  o.items.skip_bad_lines = absl::GetFlag(FLAGS_skip_bad_lines);
  o.item_labels_path = absl::GetFlag(FLAGS_item_labels);
  o.item_tags_path = absl::GetFlag(FLAGS_item_tags);
  o.keep_versions = absl::GetFlag(FLAGS_keep_versions);
  o.threads = ThreadsFlag();
  ASSIGN_OR_RETURN(const AddItemsReport r, AddItems(o));
  if (r.added == 0) {
    std::printf(
        "No new items: all %lld items of %s are in %s already; nothing "
        "published.\n",
        static_cast<long long>(r.already_present), o.items_path.c_str(),
        r.base_version.c_str());
    return absl::OkStatus();
  }
  std::printf(
      "Added %lld items to %s (%lld already present, %lld without "
      "known attributes: placed at the mean item).\n",
      static_cast<long long>(r.added), r.base_version.c_str(),
      static_cast<long long>(r.already_present),
      static_cast<long long>(r.without_attributes));
  std::printf(
      "Published %s -> %s (%s) in %.2f s; %d index file%s extended "
      "in %.2f s.\n",
      r.base_version.c_str(), r.version.c_str(), r.dir.c_str(), r.seconds,
      r.indexes_extended, r.indexes_extended == 1 ? "" : "s", r.index_seconds);
  for (const std::string& skipped : r.indexes_skipped) {
    std::fprintf(stderr,
                 "warning: saved index not extended (the server will build it "
                 "again): %s\n",
                 skipped.c_str());
  }
  return absl::OkStatus();
}

}  // namespace recserve
