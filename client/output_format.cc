#include "client/output_format.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace recserve::client {
namespace {

std::string Plural(int count, absl::string_view noun) {
  return absl::StrCat(count, " ", noun, count == 1 ? "" : "s");
}

// The table of scored items: `score_header` names the score column,
// `whole_scores` prints scores without decimals, `with_rating` adds the
// predicted rating.
std::string ItemsTable(
    const google::protobuf::RepeatedPtrField<v1::ScoredItem>& items,
    absl::string_view score_header, bool whole_scores, bool with_rating) {
  if (items.empty()) return "(no items)\n";
  bool titles = false;
  bool genres = false;
  bool labels = false;
  bool cold = false;
  for (const v1::ScoredItem& item : items) {
    cold = cold || item.cold();
    titles = titles || !item.title().empty();
    genres = genres || item.genres_size() > 0;
    labels = labels || item.labels_size() > 0;
  }
  // An item's labels include its genres: show one column, not both.
  genres = genres && !labels;
  using Align = TextTable::Align;
  std::vector<TextTable::Column> columns = {
      {"rank", Align::kRight},
      {"item id", Align::kLeft},
      {std::string(score_header), Align::kRight}};
  if (with_rating) columns.push_back({"predicted rating", Align::kRight});
  if (cold) columns.push_back({"cold", Align::kLeft});
  if (titles) columns.push_back({"title", Align::kLeft});
  if (genres) columns.push_back({"genres", Align::kLeft});
  if (labels) columns.push_back({"labels", Align::kLeft});
  TextTable table(std::move(columns));
  int rank = 0;
  for (const v1::ScoredItem& item : items) {
    std::vector<std::string> row = {
        absl::StrCat(++rank), item.item_id(),
        whole_scores ? absl::StrFormat("%.0f", item.score())
                     : absl::StrFormat("%.4f", item.score())};
    if (with_rating) {
      row.push_back(absl::StrFormat("%.2f", item.predicted_rating()));
    }
    if (cold) row.push_back(item.cold() ? "cold" : "");
    if (titles) row.push_back(item.title());
    if (genres) row.push_back(absl::StrJoin(item.genres(), ", "));
    if (labels) row.push_back(absl::StrJoin(item.labels(), ", "));
    table.AddRow(std::move(row));
  }
  return table.Render();
}

// "name  value" lines, values aligned, indented by `indent`.
std::string KeyValues(
    const std::vector<std::pair<std::string, std::string>>& pairs,
    absl::string_view indent) {
  size_t width = 0;
  for (const auto& [key, value] : pairs) {
    width = std::max(width, DisplayWidth(key));
  }
  std::string out;
  for (const auto& [key, value] : pairs) {
    absl::StrAppend(&out, indent, key,
                    std::string(width - DisplayWidth(key) + 2, ' '), value,
                    "\n");
  }
  return out;
}

// One block per explained item: its rating terms, retrieval score and blend
// weight, and the interactions that contributed most.
std::string Explanations(
    const google::protobuf::RepeatedPtrField<v1::ScoredItem>& items) {
  std::string out;
  int rank = 0;
  for (const v1::ScoredItem& item : items) {
    ++rank;
    if (!item.has_explanation()) continue;
    const v1::Explanation& e = item.explanation();
    if (out.empty()) out = "Why:\n";
    // A snapshot trained on events has no rating model: no rating terms.
    const bool rating_terms = e.global_mean() != 0 || e.user_bias() != 0 ||
                              e.item_bias() != 0 || e.interaction() != 0 ||
                              e.blend_weight() != 0;
    if (!rating_terms) {
      absl::StrAppend(&out,
                      absl::StrFormat("  %d. %s: retrieval %.4f\n", rank,
                                      item.item_id(), e.retrieval_score()));
    } else {
      absl::StrAppend(
          &out,
          absl::StrFormat(
              "  %d. %s: rating %.2f = mean %.2f + user %+.2f + "
              "item %+.2f + interaction %+.2f; retrieval %.4f, "
              "blend weight %.2f\n",
              rank, item.item_id(),
              e.global_mean() + e.user_bias() + e.item_bias() + e.interaction(),
              e.global_mean(), e.user_bias(), e.item_bias(), e.interaction(),
              e.retrieval_score(), e.blend_weight()));
    }
    if (e.because_size() == 0) continue;
    std::vector<std::string> because;
    for (const v1::Contribution& c : e.because()) {
      because.push_back(absl::StrFormat(
          "%s%s (%+.4f)", c.item_id(),
          c.title().empty() ? "" : absl::StrCat(" ", c.title()), c.share()));
    }
    absl::StrAppend(&out, "     because: ", absl::StrJoin(because, "; "), "\n");
  }
  return out;
}

std::string IndexText(const v1::IndexInfo& index) {
  return absl::StrCat(index.space().empty() ? "?" : index.space(), ", ",
                      index.dimensions(), " dimensions, M ", index.m(),
                      ", ef_construction ", index.ef_construction(), ", ef ",
                      index.ef() == 0 ? "auto" : absl::StrCat(index.ef()), ", ",
                      Plural(index.items(), "item"));
}

nlohmann::json ItemJson(const v1::ScoredItem& item, bool with_rating) {
  nlohmann::json json = {{"item_id", item.item_id()}, {"score", item.score()}};
  if (with_rating) json["predicted_rating"] = item.predicted_rating();
  json["cold"] = item.cold();
  json["title"] = item.title();
  json["genres"] = nlohmann::json::array();
  for (const std::string& g : item.genres()) json["genres"].push_back(g);
  json["labels"] = nlohmann::json::array();
  for (const std::string& l : item.labels()) json["labels"].push_back(l);
  if (item.has_explanation()) {
    const v1::Explanation& e = item.explanation();
    nlohmann::json because = nlohmann::json::array();
    for (const v1::Contribution& c : e.because()) {
      because.push_back({{"item_id", c.item_id()},
                         {"title", c.title()},
                         {"share", c.share()}});
    }
    json["explanation"] = {{"global_mean", e.global_mean()},
                           {"user_bias", e.user_bias()},
                           {"item_bias", e.item_bias()},
                           {"interaction", e.interaction()},
                           {"retrieval_score", e.retrieval_score()},
                           {"blend_weight", e.blend_weight()},
                           {"because", std::move(because)}};
  }
  return json;
}

nlohmann::json ItemsJson(
    const google::protobuf::RepeatedPtrField<v1::ScoredItem>& items,
    bool with_rating) {
  nlohmann::json json = nlohmann::json::array();
  for (const v1::ScoredItem& item : items) {
    json.push_back(ItemJson(item, with_rating));
  }
  return json;
}

nlohmann::json IndexJson(const v1::IndexInfo& index) {
  return {
      {"space", index.space()}, {"dimensions", index.dimensions()},
      {"m", index.m()},         {"ef_construction", index.ef_construction()},
      {"ef", index.ef()},       {"items", index.items()}};
}

}  // namespace

TextTable::TextTable(std::vector<Column> columns)
    : columns_(std::move(columns)) {}

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render() const {
  std::vector<size_t> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    widths[c] = DisplayWidth(columns_[c].header);
    for (const std::vector<std::string>& row : rows_) {
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
    }
  }
  std::string out;
  auto append_line = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const std::string padding(widths[c] - DisplayWidth(cells[c]), ' ');
      if (c > 0) line += "  ";
      if (columns_[c].align == Align::kRight) {
        absl::StrAppend(&line, padding, cells[c]);
      } else {
        absl::StrAppend(&line, cells[c], padding);
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  };
  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(column.header);
  append_line(headers);
  for (const std::vector<std::string>& row : rows_) append_line(row);
  return out;
}

size_t DisplayWidth(absl::string_view text) {
  // Count every byte that is not a UTF-8 continuation byte (10xxxxxx).
  return std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
}

std::string FormatRecommendations(const v1::RecommendResponse& response,
                                  absl::string_view user_id) {
  std::string out =
      absl::StrCat("Top ", Plural(response.items_size(), "item"), " for user ",
                   user_id, " (model ", response.model_version(), ")\n");
  if (response.fallback()) {
    absl::StrAppend(&out, "(fallback: popular items for an unknown user)\n");
  }
  if (response.folded_in()) {
    absl::StrAppend(&out, "(folded in from recent interactions)\n");
  }
  if (response.recent_unknown() > 0) {
    absl::StrAppend(&out, "(skipped ",
                    Plural(response.recent_unknown(), "recent interaction"),
                    " with unknown items)\n");
  }
  absl::StrAppend(&out,
                  ItemsTable(response.items(), "score",
                             /*whole_scores=*/response.fallback(),
                             /*with_rating=*/true),
                  Explanations(response.items()));
  return out;
}

std::string FormatSimilarItems(const v1::SimilarItemsResponse& response,
                               absl::Span<const std::string> item_ids) {
  return absl::StrCat(Plural(response.items_size(), "item"), " similar to ",
                      item_ids.size() == 1 ? "item " : "items ",
                      absl::StrJoin(item_ids, ", "), " (model ",
                      response.model_version(), ")\n",
                      ItemsTable(response.items(), "similarity",
                                 /*whole_scores=*/false,
                                 /*with_rating=*/false));
}

std::string FormatPrediction(const v1::PredictRatingResponse& response,
                             absl::string_view user_id,
                             absl::string_view item_id) {
  std::string out = absl::StrFormat(
      "Predicted rating of item %s for user %s: %.2f (model %s)\n",
      std::string(item_id), std::string(user_id), response.rating(),
      response.model_version());
  if (response.fallback()) {
    const char* note;
    if (!response.user_known() && !response.item_known()) {
      note = "unknown user and item, the global mean";
    } else if (!response.user_known()) {
      note = "unknown user, from the item's bias only";
    } else if (!response.item_known()) {
      note = "unknown item, from the user's bias only";
    } else {
      note = "bias-only prediction";
    }
    absl::StrAppend(&out, "(fallback: ", note, ")\n");
  }
  if (response.folded_in()) {
    absl::StrAppend(&out, "(folded in from recent interactions)\n");
  }
  if (response.item_cold()) {
    absl::StrAppend(&out,
                    "(cold item: its factors were mapped from its metadata)\n");
  }
  return out;
}

namespace {

// "cart=3, dislike=2 (negative), view=1", names sorted; "none" without.
std::string EventsText(const v1::ModelInfo& info) {
  std::map<std::string, std::string> events;
  for (const auto& [name, weight] : info.event_weights()) {
    events[name] = absl::StrCat(name, "=", weight);
  }
  for (const std::string& name : info.negative_events()) {
    std::string& text = events[name];
    if (text.empty()) text = name;
    absl::StrAppend(&text, " (negative)");
  }
  if (events.empty()) return "none";
  std::vector<std::string> parts;
  for (const auto& [name, text] : events) parts.push_back(text);
  return absl::StrJoin(parts, ", ");
}

// A server from before feedback kinds serves ratings only.
std::string FeedbackText(const v1::ModelInfo& info) {
  return info.feedback().empty() ? "explicit" : info.feedback();
}

}  // namespace

std::string FormatModelInfo(const v1::ModelInfo& info) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"model_version", info.model_version()},
      {"algo", info.algo()},
      {"feedback", FeedbackText(info) == "implicit"
                       ? "implicit (events: ranks by preference, predicts "
                         "no ratings)"
                       : "explicit (ratings)"},
      {"created_at", info.created_at()},
      {"loaded_at", info.loaded_at()},
      {"checksum", info.checksum()},
      {"num_users", absl::StrCat(info.num_users())},
      {"num_items", absl::StrCat(info.num_items())},
      {"cold_items", absl::StrCat(info.cold_items())},
      {"retrieval_model", info.retrieval_model() == "item_item"
                              ? absl::StrCat("item_item (EASE over the first ",
                                             info.item_item_items(), " items)")
                              : info.retrieval_model()},
      {"num_ratings", absl::StrCat(info.num_ratings())},
      {"factors", absl::StrCat(info.factors())},
      {"retrieval_factors", absl::StrCat(info.retrieval_factors())},
      {"global_mean", absl::StrFormat("%.4f", info.global_mean())},
      {"rating_scale",
       absl::StrCat(info.rating_min(), " to ", info.rating_max())},
      {"rating_output",
       FeedbackText(info) == "implicit" ? std::string("none (no rating model)")
       : info.ordinal_cutpoints().empty()
           ? std::string("score clamped to the scale")
           : absl::StrCat("ordinal: expected rating (cutpoints ",
                          absl::StrJoin(info.ordinal_cutpoints(), " ",
                                        [](std::string* out, float c) {
                                          absl::StrAppendFormat(out, "%.3f", c);
                                        }),
                          ", spread ",
                          absl::StrFormat("%.3f", info.ordinal_stddev()), ")")},
      {"candidates", absl::StrCat(info.candidates())},
      {"blend_weight", absl::StrCat(info.blend_weight())},
      {"retrieval_index", IndexText(info.retrieval_index())},
      {"similarity_index", IndexText(info.similarity_index())},
      {"fold_in", info.fold_in() ? "yes" : "no"},
      {"labels", info.labels().empty()
                     ? std::string("none")
                     : absl::StrCat(info.labels_size(), ": ",
                                    absl::StrJoin(info.labels(), ", "))},
  };
  if (FeedbackText(info) == "implicit") {
    fields.emplace_back("events", EventsText(info));
  }
  std::string out = absl::StrCat("Model ", info.model_version(), "\n",
                                 KeyValues(fields, "  "));
  if (!info.metrics().empty()) {
    std::vector<std::pair<std::string, std::string>> metrics;
    for (const auto& [name, value] : info.metrics()) {
      metrics.emplace_back(name, absl::StrCat(value));
    }
    std::sort(metrics.begin(), metrics.end());
    absl::StrAppend(&out, "  metrics\n", KeyValues(metrics, "    "));
  }
  return out;
}

std::string FormatHealth(ServingStatus status, absl::string_view target) {
  return absl::StrCat(target, ": ", ServingStatusName(status), "\n");
}

nlohmann::json ToJson(const v1::RecommendResponse& response) {
  return {{"items", ItemsJson(response.items(), /*with_rating=*/true)},
          {"model_version", response.model_version()},
          {"fallback", response.fallback()},
          {"candidates", response.candidates()},
          {"ef", response.ef()},
          {"folded_in", response.folded_in()},
          {"recent_unknown", response.recent_unknown()}};
}

nlohmann::json ToJson(const v1::SimilarItemsResponse& response) {
  return {{"items", ItemsJson(response.items(), /*with_rating=*/false)},
          {"model_version", response.model_version()}};
}

nlohmann::json ToJson(const v1::PredictRatingResponse& response) {
  return {{"rating", response.rating()},
          {"model_version", response.model_version()},
          {"fallback", response.fallback()},
          {"user_known", response.user_known()},
          {"item_known", response.item_known()},
          {"item_cold", response.item_cold()},
          {"folded_in", response.folded_in()}};
}

nlohmann::json ToJson(const v1::ModelInfo& info) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : info.metrics()) metrics[name] = value;
  nlohmann::json labels = nlohmann::json::array();
  for (const std::string& label : info.labels()) labels.push_back(label);
  nlohmann::json event_weights = nlohmann::json::object();
  for (const auto& [name, weight] : info.event_weights()) {
    event_weights[name] = weight;
  }
  nlohmann::json negative_events = nlohmann::json::array();
  for (const std::string& name : info.negative_events()) {
    negative_events.push_back(name);
  }
  return {
      {"model_version", info.model_version()},
      {"feedback", FeedbackText(info)},
      {"event_weights", std::move(event_weights)},
      {"negative_events", std::move(negative_events)},
      {"created_at", info.created_at()},
      {"algo", info.algo()},
      {"num_users", info.num_users()},
      {"num_items", info.num_items()},
      {"cold_items", info.cold_items()},
      {"retrieval_model", info.retrieval_model()},
      {"item_item_items", info.item_item_items()},
      {"ordinal_cutpoints", std::vector<float>(info.ordinal_cutpoints().begin(),
                                               info.ordinal_cutpoints().end())},
      {"ordinal_stddev", info.ordinal_stddev()},
      {"num_ratings", info.num_ratings()},
      {"factors", info.factors()},
      {"retrieval_factors", info.retrieval_factors()},
      {"global_mean", info.global_mean()},
      {"rating_min", info.rating_min()},
      {"rating_max", info.rating_max()},
      {"candidates", info.candidates()},
      {"blend_weight", info.blend_weight()},
      {"metrics", std::move(metrics)},
      {"retrieval_index", IndexJson(info.retrieval_index())},
      {"similarity_index", IndexJson(info.similarity_index())},
      {"loaded_at", info.loaded_at()},
      {"checksum", info.checksum()},
      {"labels", std::move(labels)},
      {"fold_in", info.fold_in()}};
}

nlohmann::json HealthToJson(ServingStatus status) {
  return {{"status", std::string(ServingStatusName(status))}};
}

std::string JsonLine(const nlohmann::json& json) {
  return json.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/false,
                   nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace recserve::client
