#ifndef RECSERVE_CORE_EVAL_EVALUATION_REPORT_H_
#define RECSERVE_CORE_EVAL_EVALUATION_REPORT_H_

// The trainer's evaluation: rating metrics of the model on the test set and
// top-N metrics of every ranking method side by side, always beside the
// popularity baseline, as a printable table and as JSON.

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/model/retrieval_model.h"
#include "core/model/mf_model.h"
#include "core/eval/rating_metrics.h"
#include "core/data/ratings.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/two_stage_scorer.h"

namespace recserve {

struct EvaluationReport {
  RatingMetrics rating;
  TopNOptions topn_options;
  // (method name, metrics), the popularity baseline first.
  std::vector<std::pair<std::string, TopNMetrics>> topn;
  double seconds = 0.0;
};

// Evaluates on `test` the models trained on `train`: RMSE/MAE/R² of the
// rating model, and the top-N metrics of popularity, the rating model alone,
// and, when `retrieval` is given, the retrieval model alone and the
// two-stage pipeline with `ranking` (the way the server ranks). Thread-safe
// for const inputs; uses options.threads workers.
EvaluationReport EvaluateModel(const MfModel& model,
                               const RetrievalModel* retrieval,
                               const TwoStageOptions& ranking,
                               const Dataset& train,
                               absl::Span<const Rating> test,
                               const TopNOptions& options);

// JSON keys: "rmse", "mae", "r2", "test_ratings", and per method
// "<method>/precision@K", ... plus the served ranking's top-N metrics (the
// last method: two_stage when there is retrieval) also unprefixed
// ("precision@10", "recall@10", "ndcg@10", "hr@10", "coverage").
nlohmann::json EvaluationToJson(const EvaluationReport& report);

// A fixed-width table for people.
std::string FormatEvaluation(const EvaluationReport& report);

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_EVALUATION_REPORT_H_
