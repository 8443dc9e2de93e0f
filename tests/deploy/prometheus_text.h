#ifndef RECSERVE_TESTS_DEPLOY_PROMETHEUS_TEXT_H_
#define RECSERVE_TESTS_DEPLOY_PROMETHEUS_TEXT_H_

// Just enough reading of Prometheus texts for tests/deploy: the rules file
// (YAML in plain block style, read line by line: Debian ships no YAML
// library we link), the metric selectors of a PromQL expression, and the
// text exposition format of /metrics. Header-only; test use only.

#include <array>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace recserve::deploy_test {

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline int Indent(const std::string& line) {
  return static_cast<int>(line.find_first_not_of(' '));
}

inline bool Blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

inline std::string Unquote(std::string value) {
  while (!value.empty() &&
         std::isspace(static_cast<unsigned char>(value.back())))
    value.pop_back();
  if (value.size() >= 2 && (value[0] == '"' || value[0] == '\'') &&
      value.back() == value[0]) {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

// One rule of the rules file.
struct Rule {
  std::string kind;  // "alert" or "record"
  std::string name;
  std::string expr;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

// Reads the rules file's `- alert:` / `- record:` items: their expr (inline
// or a block scalar), labels and annotations (values of block scalars are
// joined; only their presence matters here).
inline std::vector<Rule> ParseRules(const std::string& text) {
  static const std::regex kItem(R"(^(\s*)- (alert|record):\s*(\S+)\s*$)");
  static const std::regex kKey(R"(^(\s*)([A-Za-z_]+):\s*(.*)$)");
  const std::vector<std::string> lines = Lines(text);
  std::vector<Rule> rules;
  int key_indent = -1;  // indentation of the current rule's keys
  std::string section;  // "labels" or "annotations"
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (Blank(line) || line[Indent(line)] == '#') continue;
    std::smatch m;
    if (std::regex_match(line, m, kItem)) {
      rules.push_back({m[2], m[3], "", {}, {}});
      key_indent = static_cast<int>(m[1].length()) + 2;
      section.clear();
      continue;
    }
    if (rules.empty() || Indent(line) < key_indent) {
      key_indent = -1;
      continue;
    }
    if (key_indent < 0 || !std::regex_match(line, m, kKey)) continue;
    const int indent = static_cast<int>(m[1].length());
    const std::string key = m[2];
    std::string value = m[3];
    if (value == "|" || value == "|-" || value == ">" || value == ">-") {
      value.clear();
      while (i + 1 < lines.size() &&
             (Blank(lines[i + 1]) || Indent(lines[i + 1]) > indent)) {
        absl::StrAppend(&value, lines[++i], "\n");
      }
    }
    Rule& rule = rules.back();
    if (indent == key_indent) {
      section = key;
      if (key == "expr") rule.expr = Unquote(value);
    } else if (section == "labels") {
      rule.labels[key] = Unquote(value);
    } else if (section == "annotations") {
      rule.annotations[key] = Unquote(value);
    }
  }
  return rules;
}

// A metric selector in a PromQL expression: the metric name and its
// label matchers (label, operator, value).
struct Selector {
  std::string name;
  std::vector<std::array<std::string, 3>> matchers;
};

// Skips a quoted string starting at expr[i]; returns the index after it and
// stores its contents in *out.
inline size_t SkipString(const std::string& expr, size_t i, std::string* out) {
  const char quote = expr[i++];
  out->clear();
  while (i < expr.size() && expr[i] != quote) {
    if (expr[i] == '\\' && quote != '`' && i + 1 < expr.size()) ++i;
    out->push_back(expr[i++]);
  }
  return i + 1;
}

// Parses `{label op "value", ...}` starting at expr[i] == '{'; returns the
// index after the closing brace.
inline size_t ParseMatchers(const std::string& expr, size_t i,
                            Selector* selector) {
  ++i;
  std::string label, op, value;
  while (i < expr.size() && expr[i] != '}') {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(expr, i, &value);
      selector->matchers.push_back({label, op, value});
      label.clear();
      op.clear();
    } else if (c == '=' || c == '!' || c == '~') {
      op.push_back(c);
      ++i;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      label.push_back(c);
      ++i;
    } else {
      ++i;
    }
  }
  return i + 1;
}

// The metric selectors of a PromQL expression: every identifier that is not
// a function, an aggregation, a keyword or a label name.
inline std::vector<Selector> Selectors(const std::string& expr) {
  static const std::set<std::string> kKeywords = {
      "sum",    "min",      "max",   "avg",          "group",
      "stddev", "stdvar",   "count", "count_values", "bottomk",
      "topk",   "quantile", "and",   "or",           "unless",
      "bool",   "offset",   "atan2", "inf",          "nan"};
  static const std::set<std::string> kLabelLists = {
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  std::vector<Selector> selectors;
  size_t i = 0;
  std::string ignored;
  const auto next_char = [&](size_t j) {
    while (j < expr.size() && std::isspace(static_cast<unsigned char>(expr[j])))
      ++j;
    return j;
  };
  // Just past the next `close` from `from`, or the end.
  const auto past = [&](char close, size_t from) {
    const size_t at = expr.find(close, from);
    return at == std::string::npos ? expr.size() : at + 1;
  };
  while (i < expr.size()) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(expr, i, &ignored);
    } else if (c == '#') {
      i = past('\n', i);
    } else if (c == '[') {
      i = past(']', i);
    } else if (c == '{') {  // {__name__="..."} without a name in front
      Selector selector;
      i = ParseMatchers(expr, i, &selector);
      for (const auto& [label, op, value] : selector.matchers) {
        if (label == "__name__" && op == "=") {
          selectors.push_back({value, selector.matchers});
        }
      }
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      while (i < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[i])) ||
              expr[i] == '.' ||
              ((expr[i] == '+' || expr[i] == '-') &&
               (expr[i - 1] == 'e' || expr[i - 1] == 'E')))) {
        ++i;
      }
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_' ||
               c == ':') {
      const size_t start = i;
      while (i < expr.size() &&
             (std::isalnum(static_cast<unsigned char>(expr[i])) ||
              expr[i] == '_' || expr[i] == ':')) {
        ++i;
      }
      const std::string word = expr.substr(start, i - start);
      const size_t next = next_char(i);
      const bool call = next < expr.size() && expr[next] == '(';
      if (kLabelLists.count(word)) {
        if (call) i = past(')', next);
      } else if (!call && !kKeywords.count(word)) {
        Selector selector{word, {}};
        if (next < expr.size() && expr[next] == '{') {
          i = ParseMatchers(expr, next, &selector);
        }
        selectors.push_back(selector);
      }
    } else {
      ++i;
    }
  }
  return selectors;
}

// A /metrics scrape: sample name -> the label sets of its samples.
using Scrape =
    std::map<std::string, std::vector<std::map<std::string, std::string>>>;

inline Scrape ParseScrape(const std::string& text) {
  static const std::regex kLabel(
      R"re(([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  Scrape scrape;
  for (const std::string& line : Lines(text)) {
    if (Blank(line) || line[0] == '#') continue;
    const size_t end = line.find_first_of("{ ");
    auto& samples = scrape[line.substr(0, end)];
    samples.emplace_back();
    if (end == std::string::npos || line[end] != '{') continue;
    const std::string labels = line.substr(end, line.find('}', end) - end);
    for (std::sregex_iterator it(labels.begin(), labels.end(), kLabel), last;
         it != last; ++it) {
      samples.back()[(*it)[1]] = (*it)[2];
    }
  }
  return scrape;
}

}  // namespace recserve::deploy_test

#endif  // RECSERVE_TESTS_DEPLOY_PROMETHEUS_TEXT_H_
