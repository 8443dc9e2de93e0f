// The text and JSON output of recserve-cli, checked against hand-written
// expectations without a server.

#include "client/output_format.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::ScoredItem Item(const std::string& id, double score, double rating,
                    const std::string& title, std::vector<std::string> genres) {
  v1::ScoredItem item;
  item.set_item_id(id);
  item.set_score(score);
  item.set_predicted_rating(rating);
  item.set_title(title);
  for (const std::string& g : genres) item.add_genres(g);
  return item;
}

TEST(TextTableTest, AlignsColumnsAndTrimsLineEnds) {
  TextTable table({{"rank", TextTable::Align::kRight},
                   {"id", TextTable::Align::kLeft},
                   {"note", TextTable::Align::kLeft}});
  table.AddRow({"1", "abc", "x"});
  table.AddRow({"10", "d", ""});
  table.AddRow({"2"});  // missing cells are empty
  EXPECT_EQ(table.Render(),
            "rank  id   note\n"
            "   1  abc  x\n"
            "  10  d\n"
            "   2\n");
}

TEST(TextTableTest, WidthCountsCodePointsNotBytes) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("Am\xC3\xA9lie"), 6u);  // "Amélie": é is 2 bytes
  EXPECT_EQ(DisplayWidth("\xE2\x82\xAC"), 1u);   // "€": 3 bytes
  TextTable table(
      {{"title", TextTable::Align::kLeft}, {"n", TextTable::Align::kRight}});
  table.AddRow({"Am\xC3\xA9lie", "1"});
  table.AddRow({"Heat", "22"});
  EXPECT_EQ(table.Render(),
            "title    n\n"
            "Am\xC3\xA9lie   1\n"
            "Heat    22\n");
}

TEST(FormatRecommendationsTest, TitledAlignedTable) {
  v1::RecommendResponse response;
  response.set_model_version("v000003");
  *response.add_items() =
      Item("50", 0.98765, 4.567, "Star Wars (1977)", {"Action", "Sci-Fi"});
  *response.add_items() = Item("1234", 0.5, 3.0, "Heat (1995)", {"Crime"});
  EXPECT_EQ(FormatRecommendations(response, "42"),
            "Top 2 items for user 42 (model v000003)\n"
            "rank  item id   score  predicted rating  title             "
            "genres\n"
            "   1  50       0.9877              4.57  Star Wars (1977)  "
            "Action, Sci-Fi\n"
            "   2  1234     0.5000              3.00  Heat (1995)       "
            "Crime\n");
}

TEST(FormatRecommendationsTest, FallbackNoteAndWholeNumberScores) {
  v1::RecommendResponse response;
  response.set_model_version("v000001");
  response.set_fallback(true);
  *response.add_items() = Item("7", 583, 3.8, "", {});
  const std::string text = FormatRecommendations(response, "nobody");
  EXPECT_EQ(text,
            "Top 1 item for user nobody (model v000001)\n"
            "(fallback: popular items for an unknown user)\n"
            "rank  item id  score  predicted rating\n"
            "   1  7          583              3.80\n");
  response.set_fallback(false);
  EXPECT_THAT(FormatRecommendations(response, "nobody"),
              Not(HasSubstr("fallback")));
}

TEST(FormatRecommendationsTest, ColdColumnWhenSomeItemIsCold) {
  v1::RecommendResponse response;
  response.set_model_version("v5");
  *response.add_items() = Item("50", 0.9, 4.0, "", {});
  *response.add_items() = Item("new7", 0.5, 3.0, "", {});
  response.mutable_items(1)->set_cold(true);
  EXPECT_EQ(FormatRecommendations(response, "42"),
            "Top 2 items for user 42 (model v5)\n"
            "rank  item id   score  predicted rating  cold\n"
            "   1  50       0.9000              4.00\n"
            "   2  new7     0.5000              3.00  cold\n");
  v1::SimilarItemsResponse similar;
  similar.set_model_version("v5");
  *similar.add_items() = Item("new7", 0.8, 0, "T", {});
  similar.mutable_items(0)->set_cold(true);
  EXPECT_EQ(FormatSimilarItems(similar, {"new8"}),
            "1 item similar to item new8 (model v5)\n"
            "rank  item id  similarity  cold  title\n"
            "   1  new7         0.8000  cold  T\n");
}

TEST(FormatRecommendationsTest, EmptyAnswer) {
  v1::RecommendResponse response;
  response.set_model_version("v2");
  EXPECT_EQ(FormatRecommendations(response, "u"),
            "Top 0 items for user u (model v2)\n(no items)\n");
}

TEST(FormatSimilarItemsTest, SimilarityColumnWithoutPredictedRating) {
  v1::SimilarItemsResponse response;
  response.set_model_version("v000003");
  *response.add_items() = Item("2", 0.961, 0, "Toy Story (1995)", {});
  *response.add_items() = Item("13", -0.25, 0, "", {});
  EXPECT_EQ(FormatSimilarItems(response, {"1"}),
            "2 items similar to item 1 (model v000003)\n"
            "rank  item id  similarity  title\n"
            "   1  2            0.9610  Toy Story (1995)\n"
            "   2  13          -0.2500\n");
  EXPECT_THAT(
      FormatSimilarItems(response, {"1", "7"}),
      ::testing::StartsWith("2 items similar to items 1, 7 (model v000003)\n"));
}

TEST(FormatRecommendationsTest, LabelsReplaceGenresAndFoldInNotes) {
  v1::RecommendResponse response;
  response.set_model_version("v4");
  response.set_folded_in(true);
  response.set_recent_unknown(2);
  v1::ScoredItem item = Item("50", 0.5, 4.0, "", {"Action"});
  item.add_labels("Action");
  item.add_labels("classic");
  *response.add_items() = item;
  EXPECT_EQ(FormatRecommendations(response, "new"),
            "Top 1 item for user new (model v4)\n"
            "(folded in from recent interactions)\n"
            "(skipped 2 recent interactions with unknown items)\n"
            "rank  item id   score  predicted rating  labels\n"
            "   1  50       0.5000              4.00  Action, classic\n");
}

TEST(FormatRecommendationsTest, ExplanationsFollowTheTable) {
  v1::RecommendResponse response;
  response.set_model_version("v4");
  v1::ScoredItem item = Item("50", 0.5, 4.0, "", {});
  v1::Explanation* e = item.mutable_explanation();
  e->set_global_mean(3.5);
  e->set_user_bias(0.25);
  e->set_item_bias(-0.5);
  e->set_interaction(0.75);
  e->set_retrieval_score(0.8);
  e->set_blend_weight(0.5);
  v1::Contribution* because = e->add_because();
  because->set_item_id("172");
  because->set_title("Empire (1980)");
  because->set_share(0.6);
  because = e->add_because();
  because->set_item_id("9");
  because->set_share(0.2);
  *response.add_items() = item;
  *response.add_items() = Item("60", 0.25, 3.0, "", {});  // not explained
  EXPECT_THAT(
      FormatRecommendations(response, "u"),
      HasSubstr("Why:\n"
                "  1. 50: rating 4.00 = mean 3.50 + user +0.25 + item -0.50 + "
                "interaction +0.75; retrieval 0.8000, blend weight 0.50\n"
                "     because: 172 Empire (1980) (+0.6000); 9 (+0.2000)\n"));
  EXPECT_THAT(FormatRecommendations(response, "u"), Not(HasSubstr("  2. 60")));
}

TEST(FormatPredictionTest, ValueAndFallbackNotes) {
  v1::PredictRatingResponse response;
  response.set_model_version("v000003");
  response.set_rating(4.3749);
  response.set_user_known(true);
  response.set_item_known(true);
  EXPECT_EQ(FormatPrediction(response, "42", "50"),
            "Predicted rating of item 50 for user 42: 4.37 (model v000003)\n");

  response.set_fallback(true);
  response.set_user_known(false);
  EXPECT_THAT(FormatPrediction(response, "x", "50"),
              HasSubstr("(fallback: unknown user, from the item's bias "
                        "only)\n"));
  response.set_user_known(true);
  response.set_item_known(false);
  EXPECT_THAT(FormatPrediction(response, "42", "y"),
              HasSubstr("(fallback: unknown item, from the user's bias "
                        "only)\n"));
  response.set_user_known(false);
  EXPECT_THAT(FormatPrediction(response, "x", "y"),
              HasSubstr("(fallback: unknown user and item, the global "
                        "mean)\n"));
  response.set_fallback(false);
  response.set_item_known(true);
  response.set_folded_in(true);
  EXPECT_EQ(FormatPrediction(response, "x", "50"),
            "Predicted rating of item 50 for user x: 4.37 (model v000003)\n"
            "(folded in from recent interactions)\n");
  response.set_folded_in(false);
  response.set_item_cold(true);
  EXPECT_EQ(FormatPrediction(response, "x", "new7"),
            "Predicted rating of item new7 for user x: 4.37 (model v000003)\n"
            "(cold item: its factors were mapped from its metadata)\n");
  EXPECT_EQ(ToJson(response)["item_cold"], true);
}

v1::ModelInfo SampleInfo() {
  v1::ModelInfo info;
  info.set_model_version("v000003");
  info.set_created_at("2026-01-02T03:04:05Z");
  info.set_algo("als");
  info.set_num_users(943);
  info.set_num_items(1682);
  info.set_num_ratings(5000000000);  // beyond int32
  info.set_factors(64);
  info.set_retrieval_factors(32);
  info.set_global_mean(3.52986);
  info.set_rating_min(1);
  info.set_rating_max(5);
  info.set_candidates(200);
  info.set_blend_weight(0.25);
  (*info.mutable_metrics())["rmse"] = 0.9123;
  (*info.mutable_metrics())["hr@10"] = 0.5;
  v1::IndexInfo* index = info.mutable_retrieval_index();
  index->set_space("ip");
  index->set_dimensions(32);
  index->set_m(16);
  index->set_ef_construction(200);
  index->set_ef(0);
  index->set_items(1682);
  *info.mutable_similarity_index() = *index;
  info.mutable_similarity_index()->set_space("cosine");
  info.mutable_similarity_index()->set_ef(150);
  info.set_loaded_at("2026-01-02T03:05:00Z");
  info.set_checksum("0badf00d");
  info.add_labels("Action");
  info.add_labels("Drama");
  info.set_fold_in(true);
  return info;
}

TEST(FormatModelInfoTest, ShowsTheOrdinalOutput) {
  v1::ModelInfo info = SampleInfo();
  for (const float c : {1.5f, 2.31f, 3.33f, 4.5f})
    info.add_ordinal_cutpoints(c);
  info.set_ordinal_stddev(0.935f);
  EXPECT_THAT(FormatModelInfo(info),
              HasSubstr("  rating_output      ordinal: expected rating "
                        "(cutpoints 1.500 2.310 3.330 4.500, spread 0.935)\n"));
  const nlohmann::json json = ToJson(info);
  ASSERT_EQ(json["ordinal_cutpoints"].size(), 4u);
  EXPECT_FLOAT_EQ(json["ordinal_cutpoints"][1].get<float>(), 2.31f);
  EXPECT_FLOAT_EQ(json["ordinal_stddev"].get<float>(), 0.935f);
}

TEST(FormatModelInfoTest, AlignedFieldsAndSortedMetrics) {
  const std::string text = FormatModelInfo(SampleInfo());
  // Keys are padded to the longest, "retrieval_factors" (17 characters).
  EXPECT_THAT(text, HasSubstr("Model v000003\n"
                              "  model_version      v000003\n"
                              "  algo               als\n"));
  EXPECT_THAT(text, HasSubstr("  num_ratings        5000000000\n"));
  EXPECT_THAT(text, HasSubstr("  global_mean        3.5299\n"));
  EXPECT_THAT(text, HasSubstr("  rating_scale       1 to 5\n"));
  EXPECT_THAT(text,
              HasSubstr("  rating_output      score clamped to the scale\n"));
  EXPECT_THAT(text, HasSubstr("  fold_in            yes\n"));
  EXPECT_THAT(text, HasSubstr("  cold_items         0\n"));
  EXPECT_THAT(text, HasSubstr("  labels             2: Action, Drama\n"));
  EXPECT_THAT(text, HasSubstr("  retrieval_index    ip, 32 dimensions, M 16, "
                              "ef_construction 200, ef auto, 1682 items\n"));
  EXPECT_THAT(text, HasSubstr("  similarity_index   cosine, 32 dimensions, "
                              "M 16, ef_construction 200, ef 150, 1682 "
                              "items\n"));
  // Sorted: "hr@10" before "rmse"; padded to the longer name.
  EXPECT_THAT(text, HasSubstr("  metrics\n"
                              "    hr@10  0.5\n"
                              "    rmse   0.9123\n"));
}

TEST(FormatHealthTest, NamesTheStatus) {
  EXPECT_EQ(FormatHealth(ServingStatus::kServing, "h:1"), "h:1: SERVING\n");
  EXPECT_EQ(FormatHealth(ServingStatus::kNotServing, "h:1"),
            "h:1: NOT_SERVING\n");
  EXPECT_EQ(HealthToJson(ServingStatus::kNotServing),
            nlohmann::json::parse(R"({"status": "NOT_SERVING"})"));
}

TEST(JsonTest, RecommendResponseUsesProtoFieldNames) {
  v1::RecommendResponse response;
  response.set_model_version("v000003");
  response.set_fallback(true);
  response.set_candidates(100);
  response.set_ef(0);
  *response.add_items() =
      Item("50", 0.75, 4.5, "Star Wars (1977)", {"Action", "Sci-Fi"});
  *response.add_items() = Item("9", 0.25, 2.0, "", {});
  response.mutable_items(1)->set_cold(true);
  const nlohmann::json json = ToJson(response);
  const char* expected = R"js(
      {"items": [
         {"item_id": "50", "score": 0.75, "predicted_rating": 4.5,
          "cold": false, "title": "Star Wars (1977)",
          "genres": ["Action", "Sci-Fi"], "labels": []},
         {"item_id": "9", "score": 0.25, "predicted_rating": 2.0,
          "cold": true, "title": "", "genres": [], "labels": []}],
       "model_version": "v000003", "fallback": true, "candidates": 100,
       "ef": 0, "folded_in": false, "recent_unknown": 0})js";
  EXPECT_EQ(json, nlohmann::json::parse(expected));
  // One line, ending in a newline, that parses back to the same object.
  const std::string line = JsonLine(json);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(nlohmann::json::parse(line), json);
}

TEST(JsonTest, SimilarItemsLeaveOutPredictedRating) {
  v1::SimilarItemsResponse response;
  response.set_model_version("v1");
  *response.add_items() = Item("2", 0.5, 0, "T", {"G"});
  const char* expected =
      R"({"items": [{"item_id": "2", "score": 0.5, "cold": false, "title": "T",)"
      R"( "genres": ["G"], "labels": []}], "model_version": "v1"})";
  EXPECT_EQ(ToJson(response), nlohmann::json::parse(expected));
}

TEST(JsonTest, PredictionAndModelInfo) {
  v1::PredictRatingResponse prediction;
  prediction.set_rating(3.5);
  prediction.set_model_version("v1");
  prediction.set_fallback(true);
  prediction.set_item_known(true);
  const char* expected =
      R"({"rating": 3.5, "model_version": "v1", "fallback": true,)"
      R"( "user_known": false, "item_known": true, "item_cold": false,)"
      R"( "folded_in": false})";
  EXPECT_EQ(ToJson(prediction), nlohmann::json::parse(expected));

  const nlohmann::json info = ToJson(SampleInfo());
  EXPECT_EQ(info.size(), 28u);  // every ModelInfo field
  EXPECT_EQ(info["cold_items"], 0);
  EXPECT_EQ(info["retrieval_model"], "");  // unset
  EXPECT_EQ(info["item_item_items"], 0);
  EXPECT_EQ(info["ordinal_cutpoints"], nlohmann::json::array());
  EXPECT_EQ(info["ordinal_stddev"], 0.0);
  EXPECT_EQ(info["feedback"], "explicit");  // unset: a server of ratings
  EXPECT_EQ(info["labels"], nlohmann::json::parse(R"(["Action", "Drama"])"));
  EXPECT_EQ(info["fold_in"], true);
  EXPECT_EQ(info["num_ratings"], 5000000000);
  EXPECT_TRUE(info["num_ratings"].is_number_integer());
  EXPECT_EQ(info["metrics"],
            nlohmann::json::parse(R"({"rmse": 0.9123, "hr@10": 0.5})"));
  const char* index =
      R"({"space": "ip", "dimensions": 32, "m": 16, "ef_construction": 200,)"
      R"( "ef": 0, "items": 1682})";
  EXPECT_EQ(info["retrieval_index"], nlohmann::json::parse(index));
  EXPECT_EQ(info["similarity_index"]["space"], "cosine");
  EXPECT_EQ(info["checksum"], "0badf00d");
  EXPECT_EQ(info["rating_min"], 1.0);
  EXPECT_EQ(info["blend_weight"], 0.25);
}

TEST(JsonTest, ExplainedItemsCarryTheirExplanation) {
  v1::RecommendResponse response;
  v1::ScoredItem item = Item("50", 0.5, 4.0, "", {});
  item.add_labels("Action");
  v1::Explanation* e = item.mutable_explanation();
  e->set_global_mean(3.5);
  e->set_retrieval_score(0.75);
  v1::Contribution* because = e->add_because();
  because->set_item_id("9");
  because->set_title("T");
  because->set_share(0.75);
  *response.add_items() = item;
  *response.add_items() = Item("60", 0.25, 3.0, "", {});
  response.set_folded_in(true);
  const nlohmann::json json = ToJson(response);
  EXPECT_EQ(json["folded_in"], true);
  EXPECT_EQ(json["items"][0]["labels"], nlohmann::json::parse(R"(["Action"])"));
  const char* expected = R"js(
      {"global_mean": 3.5, "user_bias": 0.0, "item_bias": 0.0,
       "interaction": 0.0, "retrieval_score": 0.75, "blend_weight": 0.0,
       "because": [{"item_id": "9", "title": "T", "share": 0.75}]})js";
  EXPECT_EQ(json["items"][0]["explanation"], nlohmann::json::parse(expected));
  EXPECT_FALSE(json["items"][1].contains("explanation"));
}

TEST(JsonTest, InvalidUtf8IsReplacedNotThrown) {
  nlohmann::json json = {{"title", "Caf\xE9"}};  // Latin-1, not UTF-8
  EXPECT_EQ(JsonLine(json), "{\"title\":\"Caf\xEF\xBF\xBD\"}\n");
}

TEST(FormatModelInfoTest, ImplicitFeedbackListsEvents) {
  v1::ModelInfo info = SampleInfo();
  info.set_feedback("implicit");
  (*info.mutable_event_weights())["view"] = 1;
  (*info.mutable_event_weights())["purchase"] = 5;
  (*info.mutable_event_weights())["dislike"] = 2;
  info.add_negative_events("dislike");
  info.add_negative_events("skip");
  const std::string text = FormatModelInfo(info);
  EXPECT_THAT(text, HasSubstr("  feedback           implicit (events: ranks "
                              "by preference, predicts no ratings)\n"));
  EXPECT_THAT(text, HasSubstr("  events             dislike=2 (negative), "
                              "purchase=5, skip (negative), view=1\n"));
  EXPECT_THAT(text, HasSubstr("  rating_output      none (no rating model)\n"));
  EXPECT_THAT(FormatModelInfo(SampleInfo()),
              HasSubstr("  feedback           explicit (ratings)\n"));
  EXPECT_THAT(FormatModelInfo(SampleInfo()), Not(HasSubstr("events")));
  const nlohmann::json json = ToJson(info);
  EXPECT_EQ(json["feedback"], "implicit");
  EXPECT_EQ(
      json["event_weights"],
      nlohmann::json::parse(R"({"view": 1, "purchase": 5, "dislike": 2})"));
  EXPECT_EQ(json["negative_events"],
            nlohmann::json::parse(R"(["dislike", "skip"])"));
}

TEST(FormatRecommendationsTest, ImplicitExplanationsShowRetrievalOnly) {
  v1::RecommendResponse response;
  response.set_model_version("v4");
  v1::ScoredItem item = Item("50", 0.75, 0.0, "", {});
  item.mutable_explanation()->set_retrieval_score(0.75);
  v1::Contribution* because = item.mutable_explanation()->add_because();
  because->set_item_id("9");
  because->set_share(0.5);
  *response.add_items() = item;
  EXPECT_THAT(FormatRecommendations(response, "u"),
              HasSubstr("Why:\n  1. 50: retrieval 0.7500\n"
                        "     because: 9 (+0.5000)\n"));
}

}  // namespace
}  // namespace recserve::client
