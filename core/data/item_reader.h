#ifndef RECSERVE_CORE_DATA_ITEM_READER_H_
#define RECSERVE_CORE_DATA_ITEM_READER_H_

// Reads MovieLens item metadata files (titles, genres, release years) into
// an ItemCatalog.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/data/item_metadata.h"

namespace recserve {

enum class ItemFormat {
  // Detect from the first non-empty line (see ReadItems).
  kAuto,
  // MovieLens 100K u.item: "id|title|release date|video release date|IMDb
  // URL|" then 19 genre flags (0/1) in the order unknown, Action, Adventure,
  // Animation, Children's, Comedy, Crime, Documentary, Drama, Fantasy,
  // Film-Noir, Horror, Musical, Mystery, Romance, Sci-Fi, Thriller, War,
  // Western. No header.
  kUItem,
  // MovieLens 1M / 10M movies.dat: "id::title::Genre1|Genre2". No header.
  kMoviesDat,
  // MovieLens 20M / 25M / latest movies.csv: header "movieId,title,genres",
  // RFC 4180 quoting, genres separated by '|'.
  kMoviesCsv,
};

// The names used by the --item_format flag: "auto", "uitem", "dat", "csv".
// Errors: InvalidArgument for any other name.
absl::StatusOr<ItemFormat> ParseItemFormat(absl::string_view name);
// The inverse of ParseItemFormat.
absl::string_view ItemFormatName(ItemFormat format);

struct ItemReadOptions {
  // The file format; kAuto detects it. Default kAuto.
  ItemFormat format = ItemFormat::kAuto;
  // If true, a malformed line is counted and skipped instead of failing the
  // read; an empty file, unknown format or bad header still fail. Default
  // false.
  bool skip_bad_lines = false;
};

struct ItemReadReport {
  // The format the file was read as (never kAuto).
  ItemFormat format = ItemFormat::kAuto;
  // Data lines read: non-empty lines, not counting a header.
  int64_t lines = 0;
  // Records stored in the catalog (lines - skipped_bad_lines; a repeated id
  // counts every time it is stored).
  int64_t items = 0;
  // Malformed lines skipped (only with skip_bad_lines).
  int64_t skipped_bad_lines = 0;
  // "<path>:<line>: <problem>" for the first 10 skipped lines.
  std::vector<std::string> bad_line_messages;
};

// Reads `path` and stores one ItemMetadata per line in `*into`, keyed by the
// item id exactly as written (ids must be non-empty ASCII digits). A repeated
// id, in the file or already in `into`, is overwritten: the later line wins.
// Blank lines are ignored; "\r\n" line endings and a UTF-8 BOM are accepted.
//
// Text: each line that is valid UTF-8 is kept as is, any other line is
// decoded as Latin-1 (ML-100K and ML-1M are Latin-1, later releases UTF-8).
// Genres: the names of the set u.item flags or the '|'-separated list;
// u.item's "unknown" flag and "(no genres listed)" give an empty list.
// Year (ItemMetadata::year): u.item's release date "01-Jan-1995" gives 1995;
// when the date is empty or not of that form, and in the other formats, the
// year is TitleYear(title). 0 when unknown. The title is kept as is.
//
// Format detection (kAuto) looks at the first non-empty line: exactly the
// header "movieId,title,genres" means csv; "::" means dat; 24 '|'-separated
// fields mean uitem.
//
// Errors: NotFound if `path` does not exist; InvalidArgument
// "<path>:<line>: <problem>" for a malformed line (unless skip_bad_lines) or
// a bad header; InvalidArgument naming the path for an empty or header-only
// file, an undetectable format, or a file without one valid line. On error
// `into` is left unchanged.
//
// Thread-safety: `into` must not be accessed concurrently.
absl::StatusOr<ItemReadReport> ReadItems(const std::string& path,
                                         const ItemReadOptions& options,
                                         ItemCatalog* into);

// The release year a MovieLens title ends with: the first 4 characters
// inside its last parenthesis when they are digits forming a year in
// [1800, 2200] not followed by another digit, and that parenthesis closes
// the title (trailing spaces allowed): "Toy Story (1995)" -> 1995,
// "Babylon 5 (1994-1998) " -> 1994, "Dark (2017– )" -> 2017. 0 for
// any other title ("Heat", "1984", "Film (99)", "Alien (1979) Redux").
// When `year_begin` is not null and a year is found, it is set to the
// offset of that last '(' (so that "title without the year" is
// title.substr(0, *year_begin)).
int32_t TitleYear(absl::string_view title, size_t* year_begin = nullptr);

}  // namespace recserve

#endif  // RECSERVE_CORE_DATA_ITEM_READER_H_
