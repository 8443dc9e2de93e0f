#include "core/eval/evaluation_report.h"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/data/sparse_ratings.h"
#include "core/model/item_scorer.h"

namespace recserve {
namespace {

constexpr const char* kNoRatingMetrics =
    "none: implicit feedback (events); the model predicts preferences, not "
    "ratings";

void AddTopN(const std::string& prefix, int32_t k, const TopNMetrics& m,
             nlohmann::json* out) {
  const std::string at = absl::StrCat("@", k);
  (*out)[prefix + "precision" + at] = m.precision;
  (*out)[prefix + "recall" + at] = m.recall;
  (*out)[prefix + "ndcg" + at] = m.ndcg;
  (*out)[prefix + "hit_rate" + at] = m.hit_rate;
  (*out)[prefix + "map" + at] = m.map;
  (*out)[prefix + "coverage"] = m.coverage;
  (*out)[prefix + "hr" + at] = m.loo_hr;
  (*out)[prefix + "loo_ndcg" + at] = m.loo_ndcg;
  (*out)[prefix + "topn_users"] = m.users;
  (*out)[prefix + "loo_users"] = m.loo_users;
}

}  // namespace

EvaluationReport EvaluateModel(const MfModel* model,
                               const RetrievalModel* retrieval,
                               const TwoStageOptions& ranking,
                               const Dataset& train,
                               absl::Span<const Rating> test,
                               const TopNOptions& options,
                               const ItemItemModel* item_item) {
  const auto start = std::chrono::steady_clock::now();
  EvaluationReport report;
  report.topn_options = options;
  report.test_ratings = static_cast<int64_t>(test.size());
  if (model != nullptr) report.rating = EvaluateRatings(*model, test);
  // Every ranking on the same users in one pass; the two-stage ranking
  // reuses the retrieval model's scores of each user.
  const PopularityScorer popularity(train);
  std::vector<std::pair<std::string, const ItemScorer*>> rankings = {
      {"popularity", &popularity}};
  std::optional<MfScorer> rating_model;
  if (model != nullptr) {
    rankings.emplace_back("rating_model", &rating_model.emplace(*model));
  }
  std::optional<EmbeddingScorer> retrieval_model;
  std::optional<MemoizedScorer> memoized_retrieval;
  SparseRatings seen;
  std::optional<TwoStageScorer> two_stage;
  std::optional<ItemItemScorer> item_item_model;
  std::optional<MemoizedScorer> memoized_item_item;
  if (retrieval != nullptr) {
    retrieval_model.emplace(retrieval->user_factors, retrieval->item_factors);
    memoized_retrieval.emplace(*retrieval_model);
    rankings.emplace_back("retrieval", &*memoized_retrieval);
    const MemoizedScorer* first_stage = &*memoized_retrieval;
    if (item_item != nullptr && model != nullptr) {
      item_item_model.emplace(*item_item, train);
      first_stage = &memoized_item_item.emplace(*item_item_model);
      rankings.emplace_back("item_item", first_stage);
    }
    if (model != nullptr) {
      seen = GroupRatings(train.ratings, train.num_users(), RatingAxis::kUser);
      rankings.emplace_back(
          "two_stage", &two_stage.emplace(*first_stage, *model, seen, ranking));
    }
  }
  std::vector<const ItemScorer*> scorers;
  for (const auto& ranked : rankings) scorers.push_back(ranked.second);
  std::vector<TopNMetrics> metrics =
      EvaluateTopN(scorers, train, test, options);
  for (size_t r = 0; r < rankings.size(); ++r) {
    report.topn.emplace_back(rankings[r].first, metrics[r]);
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  return report;
}

EvaluationReport EvaluateModel(const MfModel& model,
                               const RetrievalModel* retrieval,
                               const TwoStageOptions& ranking,
                               const Dataset& train,
                               absl::Span<const Rating> test,
                               const TopNOptions& options,
                               const ItemItemModel* item_item) {
  return EvaluateModel(&model, retrieval, ranking, train, test, options,
                       item_item);
}

std::string NoRatingMetricsReason(const EvaluationReport& report) {
  return report.rating.has_value() ? "" : kNoRatingMetrics;
}

nlohmann::json EvaluationToJson(const EvaluationReport& report) {
  nlohmann::json out = nlohmann::json::object();
  if (report.rating.has_value()) {
    out["rmse"] = report.rating->rmse;
    out["rmse_for_today"] = report.rating->rmse_for_today;
    out["mae"] = report.rating->mae;
    out["r2"] = report.rating->r2;
  }
  out["test_ratings"] = report.test_ratings;
  const int32_t k = report.topn_options.k;
  out["k"] = k;
  out["relevance_threshold"] = report.topn_options.relevance_threshold;
  out["loo_negatives"] = report.topn_options.loo_negatives;
  for (const auto& [name, metrics] : report.topn) {
    AddTopN(name + "/", k, metrics, &out);
  }
  if (!report.topn.empty()) AddTopN("", k, report.topn.back().second, &out);
  out["evaluation_seconds"] = report.seconds;
  return out;
}

std::string FormatEvaluation(const EvaluationReport& report) {
  const int32_t k = report.topn_options.k;
  std::string out;
  if (report.rating.has_value()) {
    absl::StrAppendFormat(
        &out,
        "Rating prediction on %d test ratings:  RMSE %.4f   MAE %.4f   R² "
        "%.4f\n\n",
        report.rating->count, report.rating->rmse, report.rating->mae,
        report.rating->r2);
    if (report.rating->rmse_for_today != report.rating->rmse) {
      // Day biases only explain the days they were fitted on.
      absl::StrAppendFormat(
          &out,
          "  (with each test rating's day biases; RMSE for today, as "
          "served: %.4f)\n\n",
          report.rating->rmse_for_today);
    }
    absl::StrAppendFormat(
        &out,
        "Top-%d ranking (full ranking over unseen items, relevant = test "
        "rating >= %.1f; leave-one-out = each user's latest test item "
        "against %d sampled unrated items)\n",
        k, report.topn_options.relevance_threshold,
        report.topn_options.loo_negatives);
  } else {
    absl::StrAppendFormat(&out, "Rating prediction: %s\n\n", kNoRatingMetrics);
    absl::StrAppendFormat(
        &out,
        "Top-%d ranking on %d test interactions (full ranking over unseen "
        "items, relevant = test interaction of value >= %g, negative events "
        "never; leave-one-out = each user's latest positive test item "
        "against %d sampled items the user never interacted with)\n",
        k, report.test_ratings, report.topn_options.relevance_threshold,
        report.topn_options.loo_negatives);
  }
  const std::string at = absl::StrCat("@", k);
  absl::StrAppendFormat(
      &out, "  %-14s %12s %12s %12s %12s %12s %10s %12s %12s\n", "method",
      "precision" + at, "recall" + at, "ndcg" + at, "hit_rate" + at, "map" + at,
      "coverage", "LOO HR" + at, "LOO NDCG" + at);
  for (const auto& [name, m] : report.topn) {
    absl::StrAppendFormat(
        &out,
        "  %-14s %12.4f %12.4f %12.4f %12.4f %12.4f %10.4f %12.4f %12.4f\n",
        name, m.precision, m.recall, m.ndcg, m.hit_rate, m.map, m.coverage,
        m.loo_hr, m.loo_ndcg);
  }
  if (!report.topn.empty()) {
    absl::StrAppendFormat(&out,
                          "  (%d users with relevant test items; %d "
                          "users in leave-one-out)\n",
                          report.topn.back().second.users,
                          report.topn.back().second.loo_users);
  }
  return out;
}

}  // namespace recserve
