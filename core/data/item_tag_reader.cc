#include "core/data/item_tag_reader.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/delimited_line.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

constexpr size_t kFields = 4;
constexpr size_t kItemField = 1;
constexpr size_t kTagField = 2;

bool HasControlCharacter(absl::string_view s) {
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Parses one data line (valid UTF-8) into `*id` and `*tag`; on failure sets
// `*error` and returns false.
bool ParseLine(absl::string_view line, CsvSplitter* csv,
               std::vector<absl::string_view>* fields, std::string* id,
               std::string* tag, std::string* error) {
  if (absl::Status s = csv->Split(line, fields); !s.ok()) {
    *error = std::string(s.message());
    return false;
  }
  if (fields->size() != kFields) {
    *error = absl::StrCat("expected ", kFields,
                          " comma-separated fields (userId,movieId,tag,"
                          "timestamp), found ",
                          fields->size());
    return false;
  }
  const absl::string_view item = (*fields)[kItemField];
  if (item.empty()) {
    *error = "empty item id";
    return false;
  }
  const absl::string_view trimmed =
      absl::StripAsciiWhitespace((*fields)[kTagField]);
  if (trimmed.empty()) {
    *error = absl::StrCat("empty tag for item ", QuoteForMessage(item));
    return false;
  }
  if (HasControlCharacter(trimmed)) {
    *error = absl::StrCat("control character in tag ", QuoteForMessage(trimmed),
                          " of item ", QuoteForMessage(item));
    return false;
  }
  id->assign(item.data(), item.size());
  *tag = absl::AsciiStrToLower(trimmed);
  return true;
}

}  // namespace

absl::StatusOr<ItemTagReadReport> ReadItemTags(
    const std::string& path, const ItemTagReadOptions& options,
    ItemTagMap* into) {
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  absl::string_view line;
  RETURN_IF_ERROR(reader->NextNonEmpty("item tags", &line));
  if (line != kItemTagsHeader) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":", reader->line_number(), ": expected the header ",
        QuoteForMessage(kItemTagsHeader), ", found ", QuoteForMessage(line)));
  }

  ItemTagReadReport report;
  ItemTagMap read;
  // "<id>\0<tag>" of every tag kept, so that repeats are dropped in linear
  // time however often a tag is given.
  absl::flat_hash_set<std::string> seen;
  CsvSplitter csv;
  std::vector<absl::string_view> fields;
  std::string utf8, id, tag, key, error;
  while (reader->Next(&line)) {
    if (line.empty()) continue;
    ++report.lines;
    if (!IsValidUtf8(line)) {
      utf8 = Latin1ToUtf8(line);
      line = utf8;
    }
    if (!ParseLine(line, &csv, &fields, &id, &tag, &error)) {
      RETURN_IF_ERROR(HandleBadLine(
          path, reader->line_number(), error, options.skip_bad_lines,
          &report.skipped_bad_lines, &report.bad_line_messages));
      continue;
    }
    key = absl::StrCat(id, absl::string_view("\0", 1), tag);
    std::vector<std::string>& tags = read[id];
    if (seen.insert(key).second) tags.push_back(std::move(tag));
  }
  RETURN_IF_ERROR(reader->status());
  if (report.lines == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": only a header line, no item tags"));
  }
  if (read.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no valid item tags; all ", report.skipped_bad_lines,
        " data lines are bad, the first: ", report.bad_line_messages[0]));
  }
  report.items = static_cast<int64_t>(read.size());
  absl::flat_hash_set<absl::string_view> distinct;
  for (const auto& [item, tags] : read) {
    distinct.insert(tags.begin(), tags.end());
  }
  report.distinct_tags = static_cast<int64_t>(distinct.size());
  distinct.clear();
  absl::flat_hash_set<std::string> kept;
  for (auto& [item, tags] : read) {
    std::vector<std::string>& to = (*into)[item];
    if (to.empty()) {
      to = std::move(tags);
      continue;
    }
    kept.clear();
    kept.insert(to.begin(), to.end());
    for (std::string& t : tags) {
      if (kept.insert(t).second) to.push_back(std::move(t));
    }
  }
  return report;
}

}  // namespace recserve
