#include "core/train/factor_import.h"

#include <cmath>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/base/delimited_line.h"
#include "core/base/status_macros.h"

namespace recserve {
namespace {

// One factor or embedding file, parsed.
struct FactorTable {
  FactorFileReport report;
  IdMap ids;
  std::vector<int64_t> lines;  // source line of each row
  std::vector<float> bias;     // empty for embedding files
  std::vector<float> factors;  // rows x k, row-major
  int64_t columns = 0;
  bool with_bias = true;

  int64_t k() const { return columns - (with_bias ? 2 : 1); }
};

// What the columns of a row are, for messages.
std::string ColumnNames(bool with_bias, int64_t columns) {
  if (columns < 0) return with_bias ? "id, bias, factors..." : "id, f1, ...";
  return with_bias ? absl::StrCat("id, bias, ", columns - 2, " factors")
                   : absl::StrCat("id, ", columns - 1, " factors");
}

char DetectDelimiter(absl::string_view line) {
  if (line.find('\t') != absl::string_view::npos) return '\t';
  if (line.find(',') != absl::string_view::npos) return ',';
  return ' ';
}

void Split(absl::string_view line, char delimiter,
           std::vector<absl::string_view>* fields) {
  if (delimiter == ' ') {
    *fields = absl::StrSplit(line, absl::ByAnyChar(" "), absl::SkipEmpty());
    return;
  }
  SplitFields(line, delimiter, fields);
  for (absl::string_view& f : *fields) f = absl::StripAsciiWhitespace(f);
}

bool IsHeader(const std::vector<absl::string_view>& fields) {
  float unused;
  for (size_t i = 1; i < fields.size(); ++i) {
    if (!ParseFloat(fields[i], &unused)) return true;
  }
  return false;
}

absl::Status LineError(const std::string& path, int64_t line,
                       absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

// Reads a factor file (id, bias, factors) or, without bias, an embedding
// file (id, factors).
// Factor files carry a bias column after the id; embedding files do not.
enum class RowLayout { kIdBiasFactors, kIdFactors };

absl::StatusOr<FactorTable> ReadFactorFile(const std::string& path,
                                           RowLayout layout) {
  const bool with_bias = layout == RowLayout::kIdBiasFactors;
  ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  FactorTable table;
  table.report.path = path;
  table.with_bias = with_bias;
  std::vector<absl::string_view> fields;
  bool first = true;
  absl::string_view line;
  while (reader->Next(&line)) {
    const int64_t n = reader->line_number();
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (first) {
      table.report.delimiter = DetectDelimiter(line);
    }
    Split(absl::StripAsciiWhitespace(line), table.report.delimiter, &fields);
    if (first) {
      first = false;
      if (fields.size() < 2) {
        return LineError(path, n,
                         absl::StrCat("expected at least 2 columns (",
                                      ColumnNames(with_bias, -1), "), found ",
                                      fields.size()));
      }
      if (IsHeader(fields)) {
        table.report.has_header = true;
        continue;
      }
    }
    if (table.columns == 0) table.columns = static_cast<int64_t>(fields.size());
    if (static_cast<int64_t>(fields.size()) != table.columns) {
      return LineError(
          path, n,
          absl::StrCat("expected ", table.columns, " columns (",
                       ColumnNames(with_bias, table.columns), ") like line ",
                       table.lines.front(), ", found ", fields.size()));
    }
    if (table.columns < 2) {
      return LineError(path, n,
                       with_bias ? "expected at least 2 columns (id, bias)"
                                 : "expected at least 2 columns (id, f1)");
    }
    if (fields[0].empty()) return LineError(path, n, "empty id");
    int32_t existing = table.ids.Find(fields[0]);
    if (existing != kUnknownIndex) {
      return LineError(
          path, n,
          absl::StrCat("duplicate id '", fields[0], "' (first on line ",
                       table.lines[existing], ")"));
    }
    for (size_t i = 1; i < fields.size(); ++i) {
      float v;
      if (!ParseFloat(fields[i], &v) || !std::isfinite(v)) {
        return LineError(path, n,
                         absl::StrCat("column ", i + 1, ": '", fields[i],
                                      "' is not a finite number"));
      }
      if (i == 1 && with_bias) {
        table.bias.push_back(v);
      } else {
        table.factors.push_back(v);
      }
    }
    table.ids.GetOrAdd(fields[0]);
    table.lines.push_back(n);
  }
  RETURN_IF_ERROR(reader->status());
  if (table.ids.size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, with_bias ? ": no factor rows" : ": no embedding rows"));
  }
  table.report.rows = table.ids.size();
  return table;
}

FactorMatrix ToMatrix(const FactorTable& t) {
  return Eigen::Map<const FactorMatrix>(t.factors.data(), t.ids.size(), t.k());
}

// The rows of `table` in the order of `ids`; every id must have one.
// `*ignored` counts the rows of other ids.
absl::StatusOr<FactorMatrix> Reindex(const FactorTable& table, const IdMap& ids,
                                     absl::string_view what,
                                     const std::string& ids_path,
                                     int64_t* ignored) {
  const int64_t k = table.k();
  FactorMatrix out(ids.size(), k);
  int32_t missing = 0, first_missing = kUnknownIndex;
  for (int32_t i = 0; i < ids.size(); ++i) {
    int32_t row = table.ids.Find(ids.Id(i));
    if (row == kUnknownIndex) {
      if (missing++ == 0) first_missing = i;
      continue;
    }
    out.row(i) = Eigen::Map<const Eigen::RowVectorXf>(
        table.factors.data() + int64_t{row} * k, k);
  }
  if (missing > 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        table.report.path, ": no row for ", what, " '", ids.Id(first_missing),
        "' of ", ids_path, " (", missing, " of ", ids.size(), " ", what,
        "s have none; every imported ", what, " needs an embedding)"));
  }
  *ignored = table.ids.size() - ids.size();
  return out;
}

struct FactorPair {
  FactorTable users;
  FactorTable items;
};

// Reads a user and an item file of the same layout, which must have the same
// number of factors.
absl::StatusOr<FactorPair> ReadFactorPair(const std::string& user_path,
                                          const std::string& item_path,
                                          RowLayout layout) {
  FactorPair pair;
  ASSIGN_OR_RETURN(pair.users, ReadFactorFile(user_path, layout));
  ASSIGN_OR_RETURN(pair.items, ReadFactorFile(item_path, layout));
  if (pair.users.columns != pair.items.columns) {
    return absl::InvalidArgumentError(absl::StrCat(
        item_path, ": has ", pair.items.k(), " factors per row but ", user_path,
        " has ", pair.users.k()));
  }
  return pair;
}

// Reads the two embedding files and re-indexes them like `train`.
absl::Status ImportEmbeddings(const ImportOptions& options,
                              const Dataset& train, ImportResult* result) {
  ASSIGN_OR_RETURN(FactorPair pair, ReadFactorPair(options.user_embeddings_path,
                                                   options.item_embeddings_path,
                                                   RowLayout::kIdFactors));
  FactorTable& users = pair.users;
  FactorTable& items = pair.items;
  ImportReport& report = result->report;
  report.user_embeddings_file = users.report;
  report.item_embeddings_file = items.report;
  report.retrieval_factors = static_cast<int32_t>(users.k());
  RetrievalModel& retrieval = result->retrieval.emplace();
  ASSIGN_OR_RETURN(
      retrieval.user_factors,
      Reindex(users, train.users, "user", options.user_factors_path,
              &report.user_embeddings_ignored));
  ASSIGN_OR_RETURN(
      retrieval.item_factors,
      Reindex(items, train.items, "item", options.item_factors_path,
              &report.item_embeddings_ignored));
  return absl::OkStatus();
}

Eigen::VectorXf ToVector(const std::vector<float>& v) {
  return Eigen::Map<const Eigen::VectorXf>(v.data(),
                                           static_cast<Eigen::Index>(v.size()));
}

}  // namespace

absl::StatusOr<ImportResult> ImportFactors(const ImportOptions& options,
                                           const Dataset& ratings) {
  if (options.global_mean.has_value() && !std::isfinite(*options.global_mean)) {
    return absl::InvalidArgumentError("ImportFactors: global_mean not finite");
  }
  if (options.user_embeddings_path.empty() !=
      options.item_embeddings_path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ImportFactors: embedding files come in pairs, but only the ",
        options.user_embeddings_path.empty() ? "item" : "user",
        " embeddings path is set"));
  }
  ASSIGN_OR_RETURN(FactorPair pair, ReadFactorPair(options.user_factors_path,
                                                   options.item_factors_path,
                                                   RowLayout::kIdBiasFactors));
  FactorTable& users = pair.users;
  FactorTable& items = pair.items;
  const int64_t k = users.k();

  ImportResult result;
  ImportReport& report = result.report;
  report.user_file = users.report;
  report.item_file = items.report;
  report.factors = static_cast<int32_t>(k);
  report.ratings_read = static_cast<int64_t>(ratings.ratings.size());

  std::vector<int32_t> user_map = MapIndices(ratings.users, users.ids);
  std::vector<int32_t> item_map = MapIndices(ratings.items, items.ids);
  auto lookup = [](const std::vector<int32_t>& map, int32_t i) {
    return i >= 0 && i < static_cast<int32_t>(map.size()) ? map[i]
                                                          : kUnknownIndex;
  };
  Dataset& train = result.train;
  std::vector<bool> user_rated(users.ids.size()), item_rated(items.ids.size());
  double sum = 0;
  for (const Rating& r : ratings.ratings) {
    int32_t u = lookup(user_map, r.user);
    int32_t i = lookup(item_map, r.item);
    if (u == kUnknownIndex) ++report.ratings_without_user_factors;
    if (i == kUnknownIndex) ++report.ratings_without_item_factors;
    if (u == kUnknownIndex || i == kUnknownIndex) {
      ++report.ratings_dropped;
      continue;
    }
    train.ratings.push_back(Rating{u, i, r.value, r.timestamp});
    user_rated[u] = true;
    item_rated[i] = true;
    sum += r.value;
  }
  report.ratings_used = static_cast<int64_t>(train.ratings.size());
  if (train.ratings.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "none of the ", report.ratings_read, " ratings has both its user in ",
        options.user_factors_path, " and its item in ",
        options.item_factors_path,
        " (are the files swapped, or the ids written differently?)"));
  }
  for (bool rated : user_rated) report.users_without_ratings += !rated;
  for (bool rated : item_rated) report.items_without_ratings += !rated;

  MfModel& model = result.model;
  model.global_mean = options.global_mean.has_value()
                          ? *options.global_mean
                          : static_cast<float>(sum / train.ratings.size());
  report.global_mean = model.global_mean;
  report.global_mean_from_ratings = !options.global_mean.has_value();
  model.scale = InferRatingScale(train.ratings);
  model.user_bias = ToVector(users.bias);
  model.item_bias = ToVector(items.bias);
  model.user_factors = ToMatrix(users);
  model.item_factors = ToMatrix(items);
  train.users = std::move(users.ids);
  train.items = std::move(items.ids);
  if (!options.user_embeddings_path.empty()) {
    RETURN_IF_ERROR(ImportEmbeddings(options, train, &result));
  }
  return result;
}

}  // namespace recserve
