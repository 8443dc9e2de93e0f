#ifndef RECSERVE_CORE_DATA_ITEM_LABEL_READER_H_
#define RECSERVE_CORE_DATA_ITEM_LABEL_READER_H_

// Reads an item labels file (the trainer's --item_labels): the labels that
// request filters can select items by, beyond their genres.
//
// Format: UTF-8 text, one item per line: the item id, a delimiter, then the
// item's labels separated by '|':
//
//   # item<TAB>labels
//   1	in_stock|region:eu
//   50	in_stock
//
// The delimiter is a tab, or a comma when the first data line has no tab; the
// whole file uses the one found there. Only the first delimiter of a line
// separates: labels may contain the other character (a comma in a
// tab-separated file, a tab never: see below). No header: blank lines and
// lines whose first character is '#' are skipped. "\r\n" line endings and a
// UTF-8 byte-order mark are accepted.
//
//  - The id is kept exactly as written (as the rating readers keep it) and
//    must not be empty.
//  - Each label is trimmed of spaces; it must then be non-empty and hold no
//    control character (tab, carriage return, ...): "a||b", a trailing '|'
//    and a line with nothing after the delimiter are errors. A label
//    repeated on its line is kept once.
//  - An id on several lines gets the labels of all of them, in order of
//    first appearance (so files can be concatenated, one per kind of label).
//
// Which items exist is not this reader's business: the caller drops the
// labels of items its data does not have (see KeepLabelsOf).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"

namespace recserve {

struct ItemLabelReadOptions {
  // What the ids name, for messages: "item", or "user" for a user labels
  // file (the trainer's --user_labels, the same format). Default "item".
  std::string ids = "item";
  // If true, a malformed line is counted and skipped instead of failing the
  // read; an unreadable file or one without a valid line still fails.
  // Default false.
  bool skip_bad_lines = false;
};

struct ItemLabelReadReport {
  // '\t' or ','.
  char delimiter = '\t';
  // Data lines: not blank, not comments.
  int64_t lines = 0;
  // Distinct item ids read, and the distinct labels among them.
  int64_t items = 0;
  int64_t distinct_labels = 0;
  // Malformed lines skipped (only with skip_bad_lines).
  int64_t skipped_bad_lines = 0;
  // "<path>:<line>: <problem>" for the first 10 skipped lines.
  std::vector<std::string> bad_line_messages;
};

// Reads `path` (format above) and adds its labels to `*into`, merged with
// any labels `into` already holds for the same item.
//
// Errors: NotFound if `path` does not exist, else the I/O error naming it;
// InvalidArgument "<path>:<line>: <problem>" for a malformed line (unless
// skip_bad_lines: empty item id, no delimiter, empty label, control
// character, invalid UTF-8); InvalidArgument naming the path for a file
// without a data line or without a valid one. On error `into` is left
// unchanged. `into` must not be accessed concurrently.
absl::StatusOr<ItemLabelReadReport> ReadItemLabels(
    const std::string& path, const ItemLabelReadOptions& options,
    ItemLabelMap* into);

// Drops from `*labels` every item that `items` does not hold, and returns
// how many were dropped.
int64_t KeepLabelsOf(const IdMap& items, ItemLabelMap* labels);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_ITEM_LABEL_READER_H_
