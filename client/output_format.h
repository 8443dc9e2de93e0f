#ifndef RECSERVE_CLIENT_OUTPUT_FORMAT_H_
#define RECSERVE_CLIENT_OUTPUT_FORMAT_H_

// How recserve-cli shows answers: readable text (titled, aligned tables) or
// one JSON object per call. Pure functions of the responses, without I/O, so
// they can be tested without a server. Thread-safe.

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/recserve_client.h"
#include "nlohmann/json.hpp"
#include "recserve/v1/recommender.pb.h"

namespace recserve::client {

// Columns of text aligned under their headers, two spaces apart. Numeric
// columns are right-aligned, text columns left-aligned; widths count UTF-8
// code points, not bytes. The last column is not padded, and no line ends in
// a space.
class TextTable final {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string header;
    Align align = Align::kLeft;
  };

  explicit TextTable(std::vector<Column> columns);

  // Adds a row; it must have one cell per column (extra cells are dropped,
  // missing ones are empty).
  void AddRow(std::vector<std::string> cells);

  // The header line and one line per row, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// The number of UTF-8 code points in `text` (its width on a terminal, for
// everything but wide CJK characters and combining marks).
size_t DisplayWidth(absl::string_view text);

// Text output. Each is a title line naming what was asked and the model
// version, then a table; every line ends in '\n'.
//
// Recommend: "Top N items for user U (model V)", then, for fallbacks,
// "(fallback: popular items for an unknown user)", for fold-ins "(folded in
// from recent interactions)" and "(skipped N recent interactions with
// unknown items)" when some were, then the columns rank, item id, score,
// predicted rating, cold (when some item is cold: "cold" for those), title,
// genres or labels (title only when some item has
// one; labels, which include the genres, when some item has them, else
// genres; joined with ", "). Scores print with 4 decimals, or as whole
// numbers for fallbacks (popularity counts); predicted ratings with 2
// decimals. An empty answer prints "(no items)" instead of a table.
// Explained items follow under "Why:", one block each: the rating's terms,
// the retrieval score and blend weight, and "because:" the contributing
// interactions with their shares.
std::string FormatRecommendations(const v1::RecommendResponse& response,
                                  absl::string_view user_id);
// "K items similar to item I (model V)" ("to items A, B" for several
// seeds), then rank, item id, similarity, cold, title, genres or labels as
// above.
std::string FormatSimilarItems(const v1::SimilarItemsResponse& response,
                               absl::Span<const std::string> item_ids);
// "Predicted rating of item I for user U: 4.37 (model V)", plus a fallback
// note naming what was unknown, a fold-in note and a cold-item note.
std::string FormatPrediction(const v1::PredictRatingResponse& response,
                             absl::string_view user_id,
                             absl::string_view item_id);
// "Model V", then one aligned "name  value" line per field (rating_min and
// rating_max as one "rating_scale" line; an HNSW index as one line, its ef
// 0 shown as "auto", the server's default; fold_in as yes or no; labels as
// their count and names), then the metrics sorted by name.
std::string FormatModelInfo(const v1::ModelInfo& info);
// "TARGET: SERVING" (or NOT_SERVING, ...).
std::string FormatHealth(ServingStatus status, absl::string_view target);

// JSON output: the proto's fields under their proto (snake_case) names, all
// of them (defaults included), int64 as a JSON number; repeated fields as
// arrays, the metrics map as an object. Scored items of SimilarItems leave
// out predicted_rating (the proto leaves it unset there); an item's
// "explanation" object is present only when the item has one. Health is
// {"status": "SERVING"} as in grpc.health.v1.HealthCheckResponse.
nlohmann::json ToJson(const v1::RecommendResponse& response);
nlohmann::json ToJson(const v1::SimilarItemsResponse& response);
nlohmann::json ToJson(const v1::PredictRatingResponse& response);
nlohmann::json ToJson(const v1::ModelInfo& info);
nlohmann::json HealthToJson(ServingStatus status);

// `json` on one line followed by '\n'; invalid UTF-8 in strings becomes
// U+FFFD instead of failing.
std::string JsonLine(const nlohmann::json& json);

}  // namespace recserve::client

#endif  // RECSERVE_CLIENT_OUTPUT_FORMAT_H_
