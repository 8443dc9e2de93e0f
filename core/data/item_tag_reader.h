#ifndef RECSERVE_CORE_DATA_ITEM_TAG_READER_H_
#define RECSERVE_CORE_DATA_ITEM_TAG_READER_H_

// Reads an item tags file (the trainer's --item_tags): the free-text tags
// users gave items, one source of item attributes (item_attributes.h).
//
// Format: MovieLens tags.csv, UTF-8 text with the header line
//
//   userId,movieId,tag,timestamp
//
// then one tag application per line, RFC 4180 quoting (a tag may hold commas
// and, doubled, quotes; a record may not span lines):
//
//   15,339,sandra 'boring' bullock,1138537770
//   18,2959,"Brad Pitt, Edward Norton",1161521655
//
// Blank lines are skipped; "\r\n" line endings and a UTF-8 byte-order mark
// are accepted. A line that is not valid UTF-8 is decoded as Latin-1 (the
// rule for MovieLens metadata, delimited_line.h).
//
//  - The item id (movieId) is kept exactly as written and must not be
//    empty. The user id and timestamp are not used (they must be present:
//    every line has exactly 4 fields).
//  - Each tag is trimmed of ASCII whitespace and ASCII-lowercased ("Brad
//    Pitt " -> "brad pitt"); it must then be non-empty and hold no control
//    character.
//  - An item's tags are distinct, in order of first appearance, however many
//    users gave them.
//
// Which items exist is not this reader's business: items not in the data are
// simply never featurized.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/item_metadata.h"

namespace recserve {

struct ItemTagReadOptions {
  // If true, a malformed line is counted and skipped instead of failing the
  // read; an unreadable file, a bad header or a file without a valid line
  // still fails. Default false.
  bool skip_bad_lines = false;
};

struct ItemTagReadReport {
  // Data lines: not blank, not the header.
  int64_t lines = 0;
  // Distinct item ids read, and the distinct tags among them.
  int64_t items = 0;
  int64_t distinct_tags = 0;
  // Malformed lines skipped (only with skip_bad_lines).
  int64_t skipped_bad_lines = 0;
  // "<path>:<line>: <problem>" for the first 10 skipped lines.
  std::vector<std::string> bad_line_messages;
};

// The header line a tags file must start with.
inline constexpr char kItemTagsHeader[] = "userId,movieId,tag,timestamp";

// Reads `path` (format above) and adds its tags to `*into`, merged with any
// tags `into` already holds for the same item (kept first, no repeats).
//
// Errors: NotFound if `path` does not exist, else the I/O error naming it;
// InvalidArgument "<path>:<line>: <problem>" for a header other than
// kItemTagsHeader, or for a malformed line (unless skip_bad_lines: not 4
// fields, unterminated quote, empty item id, empty tag, control character);
// InvalidArgument naming the path for an empty file, a file with only the
// header, or one without a valid line. On error `into` is left unchanged.
// `into` must not be accessed concurrently.
absl::StatusOr<ItemTagReadReport> ReadItemTags(
    const std::string& path, const ItemTagReadOptions& options,
    ItemTagMap* into);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_ITEM_TAG_READER_H_
