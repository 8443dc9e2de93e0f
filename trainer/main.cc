// recserve-train: train (the default), generate or import; each command
// and its own flags are in its own file (commands.h). Here: the dispatch,
// and the flags the commands share: where the data comes from, the seed and
// threads, and where snapshots are published.

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/base/status_macros.h"
#include "trainer/commands.h"
#include "trainer/console_output.h"

// Data.
ABSL_FLAG(std::string, ratings, "",
          "Ratings file (MovieLens or generic). generate: how many.");
ABSL_FLAG(std::string, format, "auto",
          "Ratings format: auto, ml100k, dat, csv or generic.");
ABSL_FLAG(std::string, columns,
          "user=userId,item=movieId,rating=rating,timestamp=timestamp",
          "Generic format: header column of each field: user, item, and "
          "rating, count, event, timestamp as the file has them.");
ABSL_FLAG(std::string, delimiter, ",", "Generic format: field delimiter.");
ABSL_FLAG(std::string, feedback, "auto",
          "explicit (star ratings), implicit (events: views, plays, "
          "purchases) or auto: implicit when the file has no rating column.");
ABSL_FLAG(std::string, event_weights, "",
          "Implicit feedback: weight of each event type, e.g. "
          "view=1,cart=4,purchase=10 (others weigh 1).");
ABSL_FLAG(std::string, negative_events, "",
          "Implicit feedback: event types that mean 'not this', e.g. "
          "dislike,skip.");
ABSL_FLAG(std::string, rating_range, "0.5:5",
          "MIN:MAX of valid ratings; others are out-of-scale errors.");
ABSL_FLAG(std::string, train, "", "Training ratings file (with --test).");
ABSL_FLAG(std::string, test, "", "Test ratings file (with --train).");
ABSL_FLAG(std::string, split, "random:0.1",
          "random:F, user_random:F (F of each user), temporal:F, last:N, loo "
          "or none (no evaluation).");
ABSL_FLAG(std::string, items, "",
          "Item metadata (titles, genres). generate: how many items.");
ABSL_FLAG(std::string, items_format, "auto",
          "Item metadata format: auto, uitem, dat or csv.");
ABSL_FLAG(std::string, item_labels, "",
          "Item labels for the server's filters: lines 'item<TAB>label|label' "
          "(or comma-separated).");
ABSL_FLAG(std::string, user_labels, "",
          "What is known of the users, features of the rating model: lines "
          "'user<TAB>label|label' (or comma-separated), e.g. "
          "'42<TAB>age:25-34|occupation:writer'.");
ABSL_FLAG(std::string, item_tags, "",
          "Item tags, MovieLens tags.csv (userId,movieId,tag,timestamp): "
          "attributes of new items.");
ABSL_FLAG(bool, skip_bad_lines, false,
          "Count and skip malformed lines instead of failing.");
ABSL_FLAG(uint64_t, seed, 1,
          "Random seed; deterministic for a seed and thread count.");
ABSL_FLAG(int32_t, threads, 0, "Worker threads; 0 = all cores.");
ABSL_FLAG(std::string, out, "",
          "Snapshot root to publish under. generate: the ratings file.");
ABSL_FLAG(int32_t, keep_versions, 5, "Snapshot versions to keep.");
ABSL_FLAG(bool, build_index, false,
          "Build the server's HNSW indexes into the snapshot.");
ABSL_FLAG(int32_t, index_m, 16,
          "HNSW graph degree M (must match the server's --index_m).");
ABSL_FLAG(int32_t, index_ef_construction, 200,
          "HNSW build breadth (must match the server's).");
namespace recserve {

std::string RatingsFlag() { return absl::GetFlag(FLAGS_ratings); }
std::string OutFlag() { return absl::GetFlag(FLAGS_out); }
int32_t ThreadsFlag() { return absl::GetFlag(FLAGS_threads); }
uint64_t SeedFlag() { return absl::GetFlag(FLAGS_seed); }

absl::StatusOr<RatingSource> SourceFromFlags() {
  RatingSource s;
  s.ratings_path = absl::GetFlag(FLAGS_ratings);
  s.train_path = absl::GetFlag(FLAGS_train);
  s.test_path = absl::GetFlag(FLAGS_test);
  RETURN_IF_ERROR(Prefix("format",
                         ParseRatingFormat(absl::GetFlag(FLAGS_format)),
                         &s.read.format));
  s.read.skip_bad_lines = s.items.skip_bad_lines =
      s.item_labels.skip_bad_lines = s.user_labels.skip_bad_lines =
          s.item_tags.skip_bad_lines = absl::GetFlag(FLAGS_skip_bad_lines);
  s.read.generic_columns = absl::GetFlag(FLAGS_columns);
  s.read.generic_delimiter = absl::GetFlag(FLAGS_delimiter);
  if (!ParseFeedback(absl::GetFlag(FLAGS_feedback), &s.read.feedback)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--feedback: unknown kind '", absl::GetFlag(FLAGS_feedback),
        "' (auto, explicit or implicit)"));
  }
  RETURN_IF_ERROR(
      Prefix("event_weights",
             ParseEventWeights(absl::GetFlag(FLAGS_event_weights),
                               absl::GetFlag(FLAGS_negative_events)),
             &s.read.events));
  const absl::Status range =
      ParseRatingRange(absl::GetFlag(FLAGS_rating_range), &s.read);
  if (!range.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rating_range: ", range.message()));
  }
  const std::string split = absl::GetFlag(FLAGS_split);
  if (split == "none") {
    s.split.reset();
  } else if (s.train_path.empty() && s.test_path.empty()) {
    RETURN_IF_ERROR(Prefix("split", ParseSplitSpec(split), &s.split.emplace()));
  }
  s.items_path = absl::GetFlag(FLAGS_items);
  s.item_labels_path = absl::GetFlag(FLAGS_item_labels);
  s.user_labels_path = absl::GetFlag(FLAGS_user_labels);
  s.item_tags_path = absl::GetFlag(FLAGS_item_tags);
  RETURN_IF_ERROR(Prefix("items_format",
                         ParseItemFormat(absl::GetFlag(FLAGS_items_format)),
                         &s.items.format));
  s.read.progress = ReadProgress();
  return s;
}

SnapshotOutput OutputFromFlags() {
  SnapshotOutput out;
  out.root = absl::GetFlag(FLAGS_out);
  out.keep_versions = absl::GetFlag(FLAGS_keep_versions);
  if (absl::GetFlag(FLAGS_build_index)) {
    out.index.emplace();
    out.index->m = absl::GetFlag(FLAGS_index_m);
    out.index->ef_construction = absl::GetFlag(FLAGS_index_ef_construction);
    out.index->threads = absl::GetFlag(FLAGS_threads);
  }
  return out;
}

}  // namespace recserve

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "learns a rating model, evaluates it and publishes a snapshot.\n"
      "  recserve-train [train] --ratings FILE [--split random:0.1] [--items "
      "FILE] --out DIR\n"
      "  recserve-train [train] --train FILE --test FILE --out DIR\n"
      "  recserve-train generate --users U --items I --ratings N --noise S "
      "--seed S --out FILE\n"
      "  recserve-train import --user_factors F --item_factors F --ratings F "
      "--out DIR\n"
      "  recserve-train add-items --snapshot_dir DIR --items FILE "
      "[--item_labels F] [--item_tags F]");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "train";
  if (args.size() > 2) {
    std::fprintf(stderr, "recserve-train: unexpected argument '%s'\n", args[2]);
    return 2;
  }
  const std::map<std::string, absl::Status (*)()> commands = {
      {"train", recserve::RunTrain},
      {"generate", recserve::RunGenerate},
      {"import", recserve::RunImport},
      {"add-items", recserve::RunAddItems}};
  const auto it = commands.find(command);
  if (it == commands.end()) {
    std::fprintf(stderr,
                 "recserve-train: unknown command '%s' (train, generate, "
                 "import or add-items)\n",
                 command.c_str());
    return 2;
  }
  const absl::Status status = it->second();
  if (!status.ok()) {
    std::fprintf(stderr, "recserve-train: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
