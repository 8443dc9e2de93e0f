#include "core/data/rating_reader.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/base/delimited_line.h"
#include "core/base/status_macros.h"
#include "core/data/event_cells.h"
#include "core/data/event_types.h"
#include "core/data/id_interner.h"
#include "core/data/rating_dedup.h"

namespace recserve {
namespace {

constexpr absl::string_view kMlCsvHeader = "userId,movieId,rating,timestamp";

// How the fields of a data line are found.
struct Layout {
  std::string delimiter;
  bool csv_quoting = false;
  std::string separated;  // For messages: "tab-separated".
  size_t num_fields = 4;
  size_t user = 0, item = 1;
  int rating = 2;         // -1: none (kGeneric implicit feedback): strength 1.
  int timestamp = 3;      // -1: none; the line number is the timestamp.
  int count = -1;         // -1: none; count 1.
  int event = -1;         // -1: none; every line a positive event of weight 1.
  bool movielens = true;  // Numeric ids and whole or half stars only.
  bool implicit = false;  // Ratings are strengths (>= 0).
};

// A header column's name as tools write it: spaces around it and double
// quotes (which the splitter leaves on when the delimiter is longer than
// one character) dropped.
absl::string_view HeaderName(absl::string_view column) {
  column = absl::StripAsciiWhitespace(column);
  if (column.size() >= 2 && column.front() == '"' && column.back() == '"') {
    column = column.substr(1, column.size() - 2);
  }
  return column;
}

Layout MovieLensLayout(RatingFormat format) {
  Layout layout;
  switch (format) {
    case RatingFormat::kMl100k:
      layout.delimiter = "\t";
      layout.separated = "tab-separated";
      break;
    case RatingFormat::kMlDat:
      layout.delimiter = "::";
      layout.separated = "'::'-separated";
      break;
    default:
      layout.delimiter = ",";
      layout.csv_quoting = true;
      layout.separated = "comma-separated";
      break;
  }
  return layout;
}

// Builds the kGeneric layout from the options and the header line.
absl::StatusOr<Layout> GenericLayout(const RatingReadOptions& options,
                                     absl::string_view header,
                                     absl::string_view where) {
  Layout layout;
  layout.movielens = false;
  layout.delimiter = options.generic_delimiter == "\\t"
                         ? std::string("\t")
                         : options.generic_delimiter;
  if (layout.delimiter.empty()) {
    return absl::InvalidArgumentError("generic delimiter must not be empty");
  }
  layout.csv_quoting = layout.delimiter.size() == 1;
  layout.separated = layout.delimiter == "\t"
                         ? std::string("tab-separated")
                         : absl::StrCat("'", layout.delimiter, "'-separated");

  std::vector<absl::string_view> columns;
  CsvSplitter splitter(layout.delimiter[0]);
  if (layout.csv_quoting) {
    if (absl::Status s = splitter.Split(header, &columns); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": bad header: ", s.message()));
    }
  } else {
    SplitFields(header, layout.delimiter, &columns);
  }
  layout.num_fields = columns.size();
  for (absl::string_view& column : columns) column = HeaderName(column);

  const std::string& mapping = options.generic_columns;
  constexpr int kNumKeys = 6;
  constexpr absl::string_view kKeys[kNumKeys] = {"user",  "item",  "rating",
                                                 "count", "event", "timestamp"};
  absl::string_view names[kNumKeys];
  for (absl::string_view pair : absl::StrSplit(mapping, ',')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    const absl::string_view key = absl::StripAsciiWhitespace(kv.first);
    const absl::string_view column = absl::StripAsciiWhitespace(kv.second);
    int k = 0;
    while (k < kNumKeys && kKeys[k] != key) ++k;
    if (k == kNumKeys || column.empty() || !names[k].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad generic column mapping ", QuoteForMessage(mapping), " at ",
          QuoteForMessage(pair),
          ": expected key=column pairs with keys user and item (required), "
          "rating, count, event and timestamp (optional), each once"));
    }
    names[k] = column;
  }
  int index[kNumKeys] = {-1, -1, -1, -1, -1, -1};
  for (int k = 0; k < kNumKeys; ++k) {
    if (names[k].empty()) {
      if (k >= 2) continue;  // Only user and item are required.
      return absl::InvalidArgumentError(
          absl::StrCat("generic column mapping ", QuoteForMessage(mapping),
                       " does not name the ", kKeys[k], " column"));
    }
    for (size_t c = 0; c < columns.size() && index[k] < 0; ++c) {
      if (columns[c] == names[k]) index[k] = static_cast<int>(c);
    }
    if (index[k] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": column ", QuoteForMessage(names[k]), " (",
                       kKeys[k], ") not found in the header; header columns: ",
                       absl::StrJoin(columns, ", ")));
    }
  }
  layout.user = index[0];
  layout.item = index[1];
  layout.rating = index[2];
  layout.count = index[3];
  layout.event = index[4];
  layout.timestamp = index[5];
  return layout;
}

// Resolves options.feedback for `layout` and checks that explicit feedback
// has a rating column and no count or event column.
absl::StatusOr<Feedback> ResolveFeedback(const RatingReadOptions& options,
                                         const Layout& layout,
                                         absl::string_view where) {
  Feedback feedback = options.feedback;
  if (feedback == Feedback::kAuto) {
    feedback = layout.rating < 0 ? Feedback::kImplicit : Feedback::kExplicit;
  }
  if (feedback == Feedback::kImplicit) return feedback;
  const std::string mapping = QuoteForMessage(options.generic_columns);
  if (layout.rating < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where,
                     ": explicit feedback needs a rating column, and the "
                     "column mapping ",
                     mapping,
                     " names none; read data without ratings (events, "
                     "counts) as implicit feedback"));
  }
  if (layout.count >= 0 || layout.event >= 0) {
    const char* named = layout.count < 0   ? "event"
                        : layout.event < 0 ? "count"
                                           : "count and event";
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": explicit feedback takes no count or event column, "
        "and the column mapping ",
        mapping, " names ", named, "; read them as implicit feedback"));
  }
  return feedback;
}

absl::StatusOr<RatingFormat> DetectFormat(absl::string_view first_line,
                                          const std::string& path) {
  if (first_line.find("::") != absl::string_view::npos) {
    return RatingFormat::kMlDat;
  }
  if (first_line == kMlCsvHeader) return RatingFormat::kMlCsv;
  const size_t tab = first_line.find('\t');
  if (tab != absl::string_view::npos &&
      IsAsciiDigits(first_line.substr(0, tab))) {
    return RatingFormat::kMl100k;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": cannot detect the rating format from the first line ",
      QuoteForMessage(first_line),
      "; tried ml100k (user<TAB>item<TAB>rating<TAB>timestamp), dat "
      "(user::item::rating::timestamp) and csv (header ",
      kMlCsvHeader,
      "); name the format (ml100k, dat, csv, or generic with a column "
      "mapping)"));
}

struct ParsedLine {
  absl::string_view user, item;
  float rating = 1;
  float count = 1;
  absl::string_view event;  // Trimmed; empty without an event column.
  int64_t timestamp = 0;
};

// Splits and validates data lines. Not thread-safe (reuses buffers).
class LineParser {
 public:
  LineParser(Layout layout, const RatingReadOptions& options)
      : layout_(std::move(layout)),
        splitter_(layout_.delimiter[0]),
        min_(options.min_rating),
        max_(options.max_rating) {}

  // Parses `line`; on failure sets `*error` to the problem and returns
  // false. `line_number` is the timestamp if the layout has no such column.
  bool Parse(absl::string_view line, int64_t line_number, ParsedLine* out,
             std::string* error) {
    if (layout_.csv_quoting) {
      if (absl::Status s = splitter_.Split(line, &fields_); !s.ok()) {
        *error = std::string(s.message());
        return false;
      }
    } else {
      SplitFields(line, layout_.delimiter, &fields_);
    }
    if (fields_.size() != layout_.num_fields) {
      *error =
          absl::StrCat("expected ", layout_.num_fields, " ", layout_.separated,
                       " fields, found ", fields_.size());
      return false;
    }
    out->user = fields_[layout_.user];
    out->item = fields_[layout_.item];
    if (!CheckId(out->user, "user", error) ||
        !CheckId(out->item, "item", error)) {
      return false;
    }
    if (layout_.rating >= 0 &&
        !ParseRating(fields_[layout_.rating], &out->rating, error)) {
      return false;
    }
    if (layout_.count >= 0) {
      const absl::string_view count = fields_[layout_.count];
      if (!ParseFloat(count, &out->count) || !std::isfinite(out->count) ||
          !(out->count > 0)) {
        *error = absl::StrCat("count must be a finite number > 0, got ",
                              QuoteForMessage(count));
        return false;
      }
    }
    if (layout_.event >= 0) {
      out->event = absl::StripAsciiWhitespace(fields_[layout_.event]);
      if (out->event.empty()) {
        *error = "empty event name";
        return false;
      }
    }
    if (layout_.timestamp < 0) {
      out->timestamp = line_number;
      return true;
    }
    const absl::string_view ts = fields_[layout_.timestamp];
    if (!ParseInt64(ts, &out->timestamp)) {
      *error = ts.empty() ? std::string("empty timestamp")
                          : absl::StrCat("non-integer timestamp ",
                                         QuoteForMessage(ts));
      return false;
    }
    return true;
  }

 private:
  bool CheckId(absl::string_view id, absl::string_view what,
               std::string* error) const {
    if (id.empty()) {
      *error = absl::StrCat("empty ", what, " id");
      return false;
    }
    if (layout_.movielens && !IsAsciiDigits(id)) {
      *error = absl::StrCat("non-numeric ", what, " id ", QuoteForMessage(id));
      return false;
    }
    return true;
  }

  bool ParseRating(absl::string_view text, float* rating,
                   std::string* error) const {
    if (text.empty()) {
      *error = "empty rating";
    } else if (!ParseFloat(text, rating)) {
      *error = absl::StrCat("non-numeric rating ", QuoteForMessage(text));
    } else if (!std::isfinite(*rating)) {
      *error = absl::StrCat("rating ", QuoteForMessage(text),
                            " is not a finite number");
    } else if (*rating < min_ || *rating > max_) {
      *error = absl::StrCat("rating ", QuoteForMessage(text),
                            " is out of scale [", min_, ", ", max_, "]");
    } else if (layout_.movielens &&
               *rating * 2.0f != std::floor(*rating * 2.0f)) {
      *error = absl::StrCat("rating ", QuoteForMessage(text),
                            " is not a whole or half star");
    } else if (layout_.implicit && *rating < 0) {
      *error = absl::StrCat("rating ", QuoteForMessage(text),
                            " is negative; implicit feedback reads a rating "
                            "as a strength, which must be >= 0");
    } else {
      return true;
    }
    return false;
  }

  const Layout layout_;
  CsvSplitter splitter_;
  const float min_, max_;
  std::vector<absl::string_view> fields_;
};

// Adds a parsed implicit-feedback line to its cell. On failure sets `*error`
// to the problem and returns false, having changed no cell.
bool AddEvent(const ParsedLine& parsed, IdInterner* users, IdInterner* items,
              EventTypes* types, EventCells* cells, std::string* error) {
  float strength = parsed.rating * parsed.count;
  EventTypes::Type* type = nullptr;
  if (!parsed.event.empty()) {
    type = &types->Find(parsed.event);
    strength *= type->weight;
  }
  if (!std::isfinite(strength)) {
    *error =
        "the strength (rating x count x event weight) is not a finite "
        "number";
    return false;
  }
  const bool negative = type != nullptr && type->negative;
  if (negative && !(strength > 0)) {
    // A signed value of 0 would read as a positive interaction.
    *error = "a negative event needs a strength > 0, got a rating of 0";
    return false;
  }
  const int32_t user = users->GetOrAdd(parsed.user);
  cells->Add(user, items->GetOrAdd(parsed.item), strength, negative,
             parsed.timestamp);
  if (type != nullptr) ++type->lines;
  return true;
}

}  // namespace

absl::StatusOr<RatingFormat> ParseRatingFormat(absl::string_view name) {
  for (RatingFormat f :
       {RatingFormat::kAuto, RatingFormat::kMl100k, RatingFormat::kMlDat,
        RatingFormat::kMlCsv, RatingFormat::kGeneric}) {
    if (name == RatingFormatName(f)) return f;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown rating format ", QuoteForMessage(name),
                   "; expected one of auto, ml100k, dat, csv, generic"));
}

absl::Status ParseRatingRange(absl::string_view text,
                              RatingReadOptions* options) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  float min = 0, max = 0;
  if (parts.size() != 2 || !absl::SimpleAtof(parts[0], &min) ||
      !absl::SimpleAtof(parts[1], &max) || !(min < max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected MIN:MAX with MIN < MAX, got ", QuoteForMessage(text)));
  }
  options->min_rating = min;
  options->max_rating = max;
  return absl::OkStatus();
}

absl::string_view RatingFormatName(RatingFormat format) {
  switch (format) {
    case RatingFormat::kAuto:
      return "auto";
    case RatingFormat::kMl100k:
      return "ml100k";
    case RatingFormat::kMlDat:
      return "dat";
    case RatingFormat::kMlCsv:
      return "csv";
    case RatingFormat::kGeneric:
      return "generic";
  }
  return "unknown";
}

absl::StatusOr<RatingReadReport> ReadRatings(const std::string& path,
                                             const RatingReadOptions& options,
                                             Dataset* into) {
  if (!(options.min_rating <= options.max_rating)) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_rating ", options.min_rating,
                     " is greater than max_rating ", options.max_rating));
  }
  LineReader::Options reader_options;
  reader_options.progress = options.progress;
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader,
                   LineReader::Open(path, reader_options));

  absl::string_view line;
  RETURN_IF_ERROR(reader->NextNonEmpty("ratings", &line));

  RatingReadReport report;
  report.format = options.format;
  if (report.format == RatingFormat::kAuto) {
    ASSIGN_OR_RETURN(report.format, DetectFormat(line, path));
  }
  const std::string where = absl::StrCat(path, ":", reader->line_number());
  Layout layout;
  bool has_header = true;
  if (report.format == RatingFormat::kGeneric) {
    ASSIGN_OR_RETURN(layout, GenericLayout(options, line, where));
  } else {
    layout = MovieLensLayout(report.format);
    has_header = report.format == RatingFormat::kMlCsv;
    if (has_header && line != kMlCsvHeader) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected the header ", QuoteForMessage(kMlCsvHeader),
          ", found ", QuoteForMessage(line)));
    }
  }
  ASSIGN_OR_RETURN(report.feedback, ResolveFeedback(options, layout, where));
  const bool implicit = report.feedback == Feedback::kImplicit;
  const bool has_event = layout.event >= 0;
  layout.implicit = implicit;
  LineParser parser(std::move(layout), options);

  std::vector<Rating>& ratings = into->ratings;
  const size_t start = ratings.size();
  // Implicit feedback may have far fewer cells than lines, but pages of the
  // reservation that no cell reaches are never touched (so cost no memory),
  // and reserving saves the copies and the peak of a growing vector.
  if (const int64_t lines = reader->EstimateLineCount(); lines > 0) {
    ratings.reserve(start + static_cast<size_t>(lines * 1.02) + 16);
  }
  IdInterner users(&into->users);
  IdInterner items(&into->items);
  EventCells cells(&ratings);
  EventTypes types(options.events);
  ParsedLine parsed;
  std::string error;
  for (bool pending = !has_header; pending || reader->Next(&line);
       pending = false) {
    if (line.empty()) continue;
    ++report.lines;
    bool ok = parser.Parse(line, reader->line_number(), &parsed, &error);
    if (ok && !implicit) {
      const int32_t user = users.GetOrAdd(parsed.user);
      ratings.push_back(Rating{user, items.GetOrAdd(parsed.item), parsed.rating,
                               parsed.timestamp});
      continue;
    }
    if (ok) ok = AddEvent(parsed, &users, &items, &types, &cells, &error);
    if (ok) continue;
    absl::Status bad = HandleBadLine(
        path, reader->line_number(), error, options.skip_bad_lines,
        &report.skipped_bad_lines, &report.bad_line_messages);
    if (!bad.ok()) {
      ratings.resize(start);
      return bad;
    }
  }
  if (!reader->status().ok()) {
    ratings.resize(start);
    return reader->status();
  }
  if (report.lines == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": only a header line, no ratings"));
  }
  if (implicit) {
    const EventCells::Result result = cells.Finish();
    if (result.overflow >= 0) {
      const Rating& r = ratings[result.overflow];
      const std::string user = into->users.Id(r.user);
      const std::string item = into->items.Id(r.item);
      ratings.resize(start);
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": the summed strength of user ", QuoteForMessage(user),
          " and item ", QuoteForMessage(item),
          " exceeds the float range; are its counts or weights that large?"));
    }
    report.negative = result.negative;
    report.merged = report.lines - report.skipped_bad_lines - result.cells;
    if (ratings.capacity() > 2 * ratings.size()) ratings.shrink_to_fit();
    if (has_event) report.event_lines = types.LinesByName();
  }
  if (ratings.size() == start) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no valid ratings; all ", report.skipped_bad_lines,
        " data lines are bad, the first: ", report.bad_line_messages[0]));
  }
  if (!implicit) {
    report.duplicates_dropped = DropDuplicateRatings(
        &ratings, start, into->users.size(), into->items.size());
  }
  report.ratings = static_cast<int64_t>(ratings.size() - start);
  return report;
}

}  // namespace recserve
