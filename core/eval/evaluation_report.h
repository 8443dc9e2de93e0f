#ifndef RECSERVE_CORE_EVAL_EVALUATION_REPORT_H_
#define RECSERVE_CORE_EVAL_EVALUATION_REPORT_H_

// The trainer's evaluation: rating metrics of the model on the test set and
// top-N metrics of every ranking method side by side, always beside the
// popularity baseline, as a printable table and as JSON.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/eval/rating_metrics.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/item_item_model.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"
#include "core/model/two_stage_scorer.h"

namespace recserve {

struct EvaluationReport {
  // The rating model's RMSE/MAE/R² on the test set; empty when there is no
  // rating model (implicit feedback: see NoRatingMetricsReason).
  std::optional<RatingMetrics> rating;
  // Number of test ratings (or implicit interactions) evaluated.
  int64_t test_ratings = 0;
  TopNOptions topn_options;
  // (method name, metrics), the popularity baseline first, the served
  // ranking last.
  std::vector<std::pair<std::string, TopNMetrics>> topn;
  double seconds = 0.0;
};

// Evaluates on `test` the models trained on `train`, always beside the
// popularity baseline. With a rating model (`model` non-null, explicit
// feedback): RMSE/MAE/R² of it, and the top-N metrics of popularity, the
// rating model alone and, when `retrieval` is given, the retrieval model
// alone and the two-stage pipeline with `ranking` (the way the server ranks).
// Without one (`model` null, implicit feedback: the retrieval model ranks
// alone): no rating metrics, and the top-N metrics of popularity and, when
// given, the retrieval model; `ranking` is unused. Pass
// options.relevance_threshold = 0 for implicit feedback, so that every
// positive test interaction is relevant. Both models, when given, must have
// been trained on `train`'s id maps; borrowed for the call only. Thread-safe
// for const inputs; uses options.threads workers. With `item_item` (and a
// rating model), the item-item model is also evaluated alone ("item_item")
// and is the two-stage pipeline's retrieval stage, as the server then ranks.
EvaluationReport EvaluateModel(const MfModel* model,
                               const RetrievalModel* retrieval,
                               const TwoStageOptions& ranking,
                               const Dataset& train,
                               absl::Span<const Rating> test,
                               const TopNOptions& options,
                               const ItemItemModel* item_item = nullptr);
// The same with a rating model: EvaluateModel(&model, ...).
EvaluationReport EvaluateModel(const MfModel& model,
                               const RetrievalModel* retrieval,
                               const TwoStageOptions& ranking,
                               const Dataset& train,
                               absl::Span<const Rating> test,
                               const TopNOptions& options,
                               const ItemItemModel* item_item = nullptr);

// Why `report` has no rating metrics ("none: implicit feedback (events); the
// model predicts preferences, not ratings"), or "" when it has them. For
// people: the JSON has no text (snapshot manifest metrics are numbers).
std::string NoRatingMetricsReason(const EvaluationReport& report);

// JSON keys: "rmse", "mae", "r2" (only with a rating model), "test_ratings",
// "k", "relevance_threshold", "loo_negatives", "evaluation_seconds", and per
// method "<method>/precision@K", "<method>/recall@K", "<method>/ndcg@K",
// "<method>/hit_rate@K" (full ranking: share of users with a relevant item in
// their top K), "<method>/map@K", "<method>/coverage", "<method>/hr@K" and
// "<method>/loo_ndcg@K" (leave-one-out), "<method>/topn_users",
// "<method>/loo_users"; plus the served ranking's (the last method: two_stage
// when there is a rating and a retrieval model, retrieval when there is only
// the latter) also unprefixed ("precision@10", "recall@10", "ndcg@10",
// "hit_rate@10", "map@10", "hr@10", "coverage", ...). Every value is a number
// (NaN when no user qualified, which dump() writes as null), as snapshot
// manifests require: the reason for missing rating metrics is text, so it is
// in NoRatingMetricsReason and FormatEvaluation, not here.
nlohmann::json EvaluationToJson(const EvaluationReport& report);

// A fixed-width table for people; without rating metrics it says why.
std::string FormatEvaluation(const EvaluationReport& report);

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_EVALUATION_REPORT_H_
