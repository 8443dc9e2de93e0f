#ifndef RECSERVE_CORE_DATA_RATING_READER_H_
#define RECSERVE_CORE_DATA_RATING_READER_H_

// Reads rating files in the formats GroupLens distributes MovieLens in, plus
// a generic delimited format with a header, into a Dataset.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/event_weights.h"
#include "core/data/ratings.h"

namespace recserve {

enum class RatingFormat {
  // Detect from the first non-empty line (see ReadRatings).
  kAuto,
  // MovieLens 100K u.data, u1.base, u1.test, ...: "user\titem\trating\tts",
  // no header.
  kMl100k,
  // MovieLens 1M / 10M ratings.dat: "user::item::rating::ts", no header.
  kMlDat,
  // MovieLens 20M / 25M / latest ratings.csv: header
  // "userId,movieId,rating,timestamp", then "user,item,rating,ts".
  kMlCsv,
  // Any delimited file with a header line, columns chosen by
  // RatingReadOptions::generic_columns.
  kGeneric,
};

// The names used by the --format flag: "auto", "ml100k", "dat", "csv",
// "generic". Errors: InvalidArgument for any other name (the message lists
// the valid ones).
absl::StatusOr<RatingFormat> ParseRatingFormat(absl::string_view name);
// The inverse of ParseRatingFormat.
absl::string_view RatingFormatName(RatingFormat format);

struct RatingReadOptions {
  // The file format; kAuto detects it. Default kAuto.
  RatingFormat format = RatingFormat::kAuto;
  // If true, a malformed line is counted in the report and skipped instead
  // of failing the whole read. An empty file, an unknown format, a bad
  // header, or a file without a single valid rating still fail. Default
  // false.
  bool skip_bad_lines = false;
  // Accepted rating range, inclusive; a rating outside it is an
  // "out of scale" error. Default [0.5, 5].
  float min_rating = 0.5f;
  float max_rating = 5.0f;
  // kGeneric only: the field delimiter, used literally ("\\t", a backslash
  // and a 't', also means a tab). A one-character delimiter honours RFC 4180
  // quoting ("a, b" in double quotes is one field); a longer one is split
  // on plainly. Default ",".
  std::string generic_delimiter = ",";
  // kGeneric only: which header column holds what, as comma-separated
  // key=column pairs. Keys: user and item (required); rating (required for
  // explicit feedback; a file without it is implicit feedback); count (a
  // play or view count, or any positive weight, default 1) and event (an
  // event type name, weighted by `events`), implicit feedback only; and
  // timestamp (optional; without it the line number is the timestamp, so
  // later lines count as newer). Default
  // "user=userId,item=movieId,rating=rating,timestamp=timestamp".
  std::string generic_columns =
      "user=userId,item=movieId,rating=rating,timestamp=timestamp";
  // Whether the values are star ratings or events (ratings.h). kAuto:
  // implicit when the file has no rating column (only kGeneric files can
  // lack one), else explicit. With kImplicit a rating column, when there is
  // one, gives each line's strength. Default kAuto.
  Feedback feedback = Feedback::kAuto;
  // Implicit feedback with an event column: each type's weight and the
  // negative types (event_weights.h). Default: every type weighs 1, none is
  // negative.
  EventWeights events;
  // Called now and then (after every 16 MiB read, and at the end) with the
  // bytes read so far and the file size, so a CLI can draw a progress
  // indicator. Called on the reading thread. May be empty. Default empty.
  std::function<void(int64_t bytes_done, int64_t bytes_total)> progress;
};

// Parses "MIN:MAX" (MIN < MAX, e.g. "0.5:5") into options->min_rating and
// max_rating. InvalidArgument quoting the text otherwise.
absl::Status ParseRatingRange(absl::string_view text,
                              RatingReadOptions* options);

struct RatingReadReport {
  // The format the file was read as (never kAuto).
  RatingFormat format = RatingFormat::kAuto;
  // The feedback the file was read as (never kAuto).
  Feedback feedback = Feedback::kExplicit;
  // Data lines read: non-empty lines, not counting a header. Always
  // lines == ratings + duplicates_dropped + merged + skipped_bad_lines.
  int64_t lines = 0;
  // Ratings appended to the Dataset.
  int64_t ratings = 0;
  // Malformed lines skipped (only with skip_bad_lines).
  int64_t skipped_bad_lines = 0;
  // Ratings dropped because the same (user, item) pair appears again in the
  // file with a later (or equal, on a later line) timestamp.
  int64_t duplicates_dropped = 0;
  // Implicit feedback: lines merged into an earlier line's (user, item)
  // cell (see ReadRatings).
  int64_t merged = 0;
  // Implicit feedback: cells appended whose value is negative.
  int64_t negative = 0;
  // Implicit feedback with an event column: the data lines of each event
  // type, by name.
  std::map<std::string, int64_t> event_lines;
  // "<path>:<line>: <problem>" for the first 10 skipped lines.
  std::vector<std::string> bad_line_messages;
};

// Reads `path` and APPENDS its ratings to `into->ratings`, interning user and
// item ids into `into->users` / `into->items` (existing ids keep their
// indices, so a train file and a test file read into the same Dataset share
// id maps). Blank lines are ignored; "\r\n" line endings and a UTF-8 BOM are
// accepted.
//
// Format detection (kAuto) looks at the first non-empty line: "::" means
// dat; exactly the header "userId,movieId,rating,timestamp" means csv; a
// tab with an integer before it means ml100k. kGeneric is never
// auto-detected.
//
// Content rules:
//  - Ids are kept exactly as written ("007" stays "007", distinct from
//    "7"). In the MovieLens formats an id must be a non-empty run of ASCII
//    digits; in kGeneric any non-empty string.
//  - A rating must be a finite number in [min_rating, max_rating]; in the
//    MovieLens formats it must also be a whole or half star (3, 3.5).
//  - A timestamp must be an integer.
//  - Explicit feedback: within one call, a repeated (user, item) pair keeps
//    the rating with the latest timestamp (on a tie, the later line) and
//    counts the others in duplicates_dropped. Ratings already in `into` are
//    not compared against. The kept ratings are appended in file order.
//  - kGeneric header names are matched without spaces around them or
//    double quotes ("userID" matches userID).
//  - Implicit feedback: a line's strength is its rating (when the file has
//    a rating column; it is checked against min_rating..max_rating as for
//    ratings, and must also be >= 0, and > 0 on a negative event's line)
//    times its count times its
//    event type's weight; a count must be a finite number > 0, an event
//    name is trimmed of spaces and must not be empty, and an event type
//    not in `events` weighs 1. Within one call the lines of a
//    (user, item) pair make one cell: the strengths of its positive events
//    summed and those of its negative events summed; the cell takes the
//    latest timestamp, and the polarity of its latest line (on a tie, the
//    later line): value = the positive sum, or minus the negative sum. The
//    cells are appended in order of their first line; the other lines are
//    counted in merged. Memory grows with the cells, not the lines.
//
// Errors:
//  - NotFound if `path` does not exist (other open/read failures: the
//    errno-derived status). Messages name the path.
//  - InvalidArgument "<path>:<line>: <problem>" for a malformed line (unless
//    skip_bad_lines), a bad header or column mapping, e.g.
//    "data/u.data:17: expected 4 tab-separated fields, found 3".
//  - InvalidArgument "<path>:<line>: ..." at the header for explicit
//    feedback without a rating column, or with a count or event column
//    (the message says to read such data as implicit feedback).
//  - InvalidArgument naming the path for an empty or header-only file, an
//    undetectable format (listing the formats tried), no valid rating, or
//    (implicit feedback) a cell whose summed strength exceeds the float
//    range, naming its user and item.
// On error, `into` may hold ids interned before the failing line, but no
// ratings from this call.
//
// Thread-safety: `into` must not be accessed concurrently; distinct calls on
// distinct Datasets may run in parallel.
absl::StatusOr<RatingReadReport> ReadRatings(const std::string& path,
                                             const RatingReadOptions& options,
                                             Dataset* into);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_RATING_READER_H_
