#include "core/data/item_reader.h"

#include <iterator>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/delimited_line.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

constexpr absl::string_view kMoviesCsvHeader = "movieId,title,genres";
constexpr absl::string_view kNoGenres = "(no genres listed)";
constexpr size_t kUItemFields = 24;
constexpr size_t kUItemFirstGenre = 5;
constexpr absl::string_view kUItemGenres[] = {
    "unknown",   "Action",   "Adventure",   "Animation", "Children's",
    "Comedy",    "Crime",    "Documentary", "Drama",     "Fantasy",
    "Film-Noir", "Horror",   "Musical",     "Mystery",   "Romance",
    "Sci-Fi",    "Thriller", "War",         "Western"};
static_assert(kUItemFirstGenre + std::size(kUItemGenres) == kUItemFields);
constexpr size_t kUItemReleaseDate = 2;
constexpr int32_t kMinYear = 1800;
constexpr int32_t kMaxYear = 2200;

// The year of a u.item release date "01-Jan-1995", or 0.
int32_t DateYear(absl::string_view date) {
  const size_t dash = date.rfind('-');
  if (dash == absl::string_view::npos) return 0;
  const absl::string_view digits = date.substr(dash + 1);
  int64_t year = 0;
  if (digits.size() != 4 || !IsAsciiDigits(digits) ||
      !ParseInt64(digits, &year) || year < kMinYear || year > kMaxYear) {
    return 0;
  }
  return static_cast<int32_t>(year);
}

absl::StatusOr<ItemFormat> DetectFormat(absl::string_view first_line,
                                        const std::string& path) {
  if (first_line == kMoviesCsvHeader) return ItemFormat::kMoviesCsv;
  if (first_line.find("::") != absl::string_view::npos) {
    return ItemFormat::kMoviesDat;
  }
  std::vector<absl::string_view> fields;
  SplitFields(first_line, '|', &fields);
  if (fields.size() == kUItemFields) return ItemFormat::kUItem;
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": cannot detect the item format from the first line ",
      QuoteForMessage(first_line),
      "; tried uitem (id|title|release date|video release date|IMDb URL|19 "
      "genre flags), dat (id::title::genres) and csv (header ",
      kMoviesCsvHeader, "); name the format (uitem, dat or csv)"));
}

// Splits and validates data lines of one format. Not thread-safe.
class LineParser {
 public:
  explicit LineParser(ItemFormat format) : format_(format) {}

  // Parses `line` (already UTF-8) into `*id` and `*item`; on failure sets
  // `*error` and returns false.
  bool Parse(absl::string_view line, std::string* id, ItemMetadata* item,
             std::string* error) {
    size_t expected = 3;
    const char* separated = "'::'-separated";
    if (format_ == ItemFormat::kUItem) {
      SplitFields(line, '|', &fields_);
      expected = kUItemFields;
      separated = "'|'-separated";
    } else if (format_ == ItemFormat::kMoviesDat) {
      SplitFields(line, "::", &fields_);
    } else {
      separated = "comma-separated";
      if (absl::Status s = csv_.Split(line, &fields_); !s.ok()) {
        *error = std::string(s.message());
        return false;
      }
    }
    if (fields_.size() != expected) {
      *error = absl::StrCat("expected ", expected, " ", separated,
                            " fields, found ", fields_.size());
      return false;
    }
    if (fields_[0].empty()) {
      *error = "empty item id";
      return false;
    }
    if (!IsAsciiDigits(fields_[0])) {
      *error =
          absl::StrCat("non-numeric item id ", QuoteForMessage(fields_[0]));
      return false;
    }
    id->assign(fields_[0].data(), fields_[0].size());
    item->title.assign(fields_[1].data(), fields_[1].size());
    item->genres.clear();
    item->year = 0;
    if (format_ == ItemFormat::kUItem) {
      item->year = DateYear(fields_[kUItemReleaseDate]);
    }
    if (item->year == 0) item->year = TitleYear(item->title);
    if (format_ == ItemFormat::kUItem) return ParseFlags(item, error);
    if (fields_[2] == kNoGenres) return true;
    absl::string_view genres = fields_[2];
    while (!genres.empty()) {
      const size_t bar = genres.find('|');
      absl::string_view genre = genres.substr(0, bar);
      if (!genre.empty()) item->genres.emplace_back(genre);
      if (bar == absl::string_view::npos) break;
      genres.remove_prefix(bar + 1);
    }
    return true;
  }

 private:
  bool ParseFlags(ItemMetadata* item, std::string* error) {
    for (size_t g = 0; g < std::size(kUItemGenres); ++g) {
      const absl::string_view flag = fields_[kUItemFirstGenre + g];
      if (flag != "0" && flag != "1") {
        *error = absl::StrCat("genre flag ", QuoteForMessage(flag), " for ",
                              kUItemGenres[g], " is not 0 or 1");
        return false;
      }
      // "unknown" means no genre is known: leave the list empty.
      if (flag == "1" && g > 0) item->genres.emplace_back(kUItemGenres[g]);
    }
    return true;
  }

  const ItemFormat format_;
  CsvSplitter csv_;
  std::vector<absl::string_view> fields_;
};

}  // namespace

int32_t TitleYear(absl::string_view title, size_t* year_begin) {
  while (!title.empty() && title.back() == ' ') title.remove_suffix(1);
  if (title.empty() || title.back() != ')') return 0;
  const size_t open = title.rfind('(');
  if (open == absl::string_view::npos) return 0;
  const absl::string_view inside =
      title.substr(open + 1, title.size() - open - 2);
  if (inside.size() < 4) return 0;
  if (inside.size() > 4 && absl::ascii_isdigit(inside[4])) return 0;
  int32_t year = 0;
  for (int i = 0; i < 4; ++i) {
    if (!absl::ascii_isdigit(inside[i])) return 0;
    year = year * 10 + (inside[i] - '0');
  }
  if (year < kMinYear || year > kMaxYear) return 0;
  if (year_begin != nullptr) *year_begin = open;
  return year;
}

absl::StatusOr<ItemFormat> ParseItemFormat(absl::string_view name) {
  for (ItemFormat f : {ItemFormat::kAuto, ItemFormat::kUItem,
                       ItemFormat::kMoviesDat, ItemFormat::kMoviesCsv}) {
    if (name == ItemFormatName(f)) return f;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown item format ", QuoteForMessage(name),
                   "; expected one of auto, uitem, dat, csv"));
}

absl::string_view ItemFormatName(ItemFormat format) {
  switch (format) {
    case ItemFormat::kAuto:
      return "auto";
    case ItemFormat::kUItem:
      return "uitem";
    case ItemFormat::kMoviesDat:
      return "dat";
    case ItemFormat::kMoviesCsv:
      return "csv";
  }
  return "unknown";
}

absl::StatusOr<ItemReadReport> ReadItems(const std::string& path,
                                         const ItemReadOptions& options,
                                         ItemCatalog* into) {
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  absl::string_view line;
  RETURN_IF_ERROR(reader->NextNonEmpty("items", &line));

  ItemReadReport report;
  report.format = options.format;
  if (report.format == ItemFormat::kAuto) {
    ASSIGN_OR_RETURN(report.format, DetectFormat(line, path));
  }
  const bool has_header = report.format == ItemFormat::kMoviesCsv;
  if (has_header && line != kMoviesCsvHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":", reader->line_number(), ": expected the header ",
        QuoteForMessage(kMoviesCsvHeader), ", found ", QuoteForMessage(line)));
  }

  LineParser parser(report.format);
  std::vector<std::pair<std::string, ItemMetadata>> records;
  std::string utf8;
  std::string error;
  for (bool pending = !has_header; pending || reader->Next(&line);
       pending = false) {
    if (line.empty()) continue;
    ++report.lines;
    if (!IsValidUtf8(line)) {
      utf8 = Latin1ToUtf8(line);
      line = utf8;
    }
    auto& [id, item] = records.emplace_back();
    if (!parser.Parse(line, &id, &item, &error)) {
      records.pop_back();
      RETURN_IF_ERROR(HandleBadLine(
          path, reader->line_number(), error, options.skip_bad_lines,
          &report.skipped_bad_lines, &report.bad_line_messages));
    }
  }
  RETURN_IF_ERROR(reader->status());
  if (report.lines == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": only a header line, no items"));
  }
  if (records.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no valid items; all ", report.skipped_bad_lines,
        " data lines are bad, the first: ", report.bad_line_messages[0]));
  }
  for (auto& [id, item] : records) {
    into->insert_or_assign(std::move(id), std::move(item));
  }
  report.items = static_cast<int64_t>(records.size());
  return report;
}

}  // namespace recserve
