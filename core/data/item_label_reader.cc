#include "core/data/item_label_reader.h"

#include <iterator>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/delimited_line.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

bool IsComment(absl::string_view line) {
  return !line.empty() && line.front() == '#';
}

absl::string_view TrimSpaces(absl::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool HasControlCharacter(absl::string_view s) {
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// Parses one data line into `*id` and `*labels` (views into `line`); on
// failure sets `*error` and returns false.
bool ParseLine(absl::string_view line, char delimiter, absl::string_view ids,
               absl::string_view* id, std::vector<absl::string_view>* labels,
               std::string* error) {
  if (!IsValidUtf8(line)) {
    *error = "not valid UTF-8";
    return false;
  }
  const size_t split = line.find(delimiter);
  if (split == absl::string_view::npos) {
    *error = absl::StrCat("expected ", ids == "item" ? "an " : "a ", ids,
                          " id, a ", delimiter == '\t' ? "tab" : "comma",
                          " and labels, found ", QuoteForMessage(line));
    return false;
  }
  *id = line.substr(0, split);
  if (id->empty()) {
    *error = absl::StrCat("empty ", ids, " id");
    return false;
  }
  absl::string_view rest = line.substr(split + 1);
  labels->clear();
  while (true) {
    const size_t bar = rest.find('|');
    const absl::string_view label = TrimSpaces(rest.substr(0, bar));
    if (label.empty()) {
      *error = absl::StrCat("empty label for ", ids, " ", QuoteForMessage(*id),
                            " (labels are separated by '|')");
      return false;
    }
    if (HasControlCharacter(label)) {
      *error =
          absl::StrCat("control character in label ", QuoteForMessage(label),
                       " of ", ids, " ", QuoteForMessage(*id));
      return false;
    }
    labels->push_back(label);
    if (bar == absl::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return true;
}

// Drops the repeats of `*labels`, keeping each label's first place; `seen`
// is scratch space. Linear, so that no file makes it quadratic.
void DropRepeats(std::vector<std::string>* labels,
                 absl::flat_hash_set<std::string>* seen) {
  seen->clear();
  size_t kept = 0;
  for (std::string& label : *labels) {
    if (!seen->insert(label).second) continue;
    if (&(*labels)[kept] != &label) (*labels)[kept] = std::move(label);
    ++kept;
  }
  labels->resize(kept);
}

}  // namespace

absl::StatusOr<ItemLabelReadReport> ReadItemLabels(
    const std::string& path, const ItemLabelReadOptions& options,
    ItemLabelMap* into) {
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  ItemLabelReadReport report;
  ItemLabelMap read;
  bool delimiter_known = false;
  absl::string_view line;
  absl::string_view id;
  std::vector<absl::string_view> labels;
  std::string error;
  while (reader->Next(&line)) {
    if (TrimSpaces(line).empty() || IsComment(line)) continue;
    ++report.lines;
    if (!delimiter_known) {
      report.delimiter =
          line.find('\t') != absl::string_view::npos ? '\t' : ',';
      delimiter_known = true;
    }
    if (!ParseLine(line, report.delimiter, options.ids, &id, &labels, &error)) {
      RETURN_IF_ERROR(HandleBadLine(
          path, reader->line_number(), error, options.skip_bad_lines,
          &report.skipped_bad_lines, &report.bad_line_messages));
      continue;
    }
    std::vector<std::string>& to = read[id];
    for (const absl::string_view label : labels) to.emplace_back(label);
  }
  RETURN_IF_ERROR(reader->status());
  if (report.lines == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": no ", options.ids,
                     " labels (only blank lines and '#' comments)"));
  }
  if (read.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": no valid ", options.ids, " labels; all ",
        report.skipped_bad_lines,
        " data lines are bad, the first: ", report.bad_line_messages[0]));
  }
  report.items = static_cast<int64_t>(read.size());
  absl::flat_hash_set<std::string> distinct, seen;
  for (auto& [item, item_labels] : read) {
    DropRepeats(&item_labels, &seen);
    distinct.insert(item_labels.begin(), item_labels.end());
  }
  report.distinct_labels = static_cast<int64_t>(distinct.size());
  for (auto& [item, item_labels] : read) {
    std::vector<std::string>& to = (*into)[item];
    if (to.empty()) {
      to = std::move(item_labels);
      continue;
    }
    to.insert(to.end(), std::make_move_iterator(item_labels.begin()),
              std::make_move_iterator(item_labels.end()));
    DropRepeats(&to, &seen);
  }
  return report;
}

int64_t KeepLabelsOf(const IdMap& items, ItemLabelMap* labels) {
  int64_t dropped = 0;
  for (auto it = labels->begin(); it != labels->end();) {
    if (items.Find(it->first) == kUnknownIndex) {
      labels->erase(it++);
      ++dropped;
    } else {
      ++it;
    }
  }
  return dropped;
}

}  // namespace recserve
