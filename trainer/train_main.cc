// recserve-train train: flags → the training pipeline's options
// (core/pipeline), progress printed as it reports it.

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/types/optional.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/pipeline/training_pipeline.h"
#include "trainer/commands.h"
#include "trainer/console_output.h"

// Models.
ABSL_FLAG(std::string, algo, "auto",
          "auto (bpmf up to 2M training ratings, als above), bpmf (Bayesian "
          "MF, infers its regularization), als or sgd.");
ABSL_FLAG(absl::optional<int32_t>, factors, absl::nullopt,
          "Latent dimensions (BPMF 10; ALS/SGD: chosen on validation).");
ABSL_FLAG(absl::optional<int32_t>, epochs, absl::nullopt,
          "Maximum epochs: ALS 25, SGD 60; BPMF sweeps by the data size "
          "(500 up to 80K ratings, down to 100 from 400K) by default.");
ABSL_FLAG(bool, bpmf_implicit_terms, true,
          "BPMF: SVD++-style terms both ways (the items a user rated, the "
          "users who rated an item).");
ABSL_FLAG(bool, bpmf_item_labels, true,
          "BPMF: an item's genres (--items) join the users who rated it as its "
          "implicit features (needs --bpmf_implicit_terms).");
ABSL_FLAG(bool, bpmf_user_labels, true,
          "BPMF: a user's --user_labels join the items they rated as their "
          "implicit features (needs --bpmf_implicit_terms).");
ABSL_FLAG(bool, bpmf_day_biases, true,
          "BPMF: a bias per day and per user and day (sessions); they explain "
          "the training data's days, and served predictions are for today.");
ABSL_FLAG(bool, bpmf_ordinal, true,
          "BPMF: an ordinal output (ordered probit) when every rating is one "
          "of the scale's values: predictions are expected ratings.");
ABSL_FLAG(absl::optional<float>, reg, absl::nullopt,
          "ALS/SGD L2 regularization. Default: chosen on validation.");
ABSL_FLAG(absl::optional<float>, lr, absl::nullopt,
          "SGD learning rate (default 0.02).");
ABSL_FLAG(double, validation_fraction, 0.05,
          "Share of training ratings held out for early stopping (ALS, SGD).");
ABSL_FLAG(bool, refit, true,
          "ALS/SGD: after early stopping, retrain on all training ratings.");
ABSL_FLAG(bool, retrieval, true,
          "Learn retrieval embeddings (implicit ALS) and rank in two stages.");
ABSL_FLAG(int32_t, implicit_factors, 32, "Retrieval embedding dimensions.");
ABSL_FLAG(absl::optional<float>, implicit_reg, absl::nullopt,
          "Implicit ALS regularization. Default: chosen on validation.");
ABSL_FLAG(float, implicit_unobserved_weight, 1.0f,
          "Implicit ALS weight of every unrated cell.");
ABSL_FLAG(float, implicit_alpha, 0.3f,
          "Implicit ALS confidence: an interaction weighs 1 + alpha · "
          "strength (linear) or 1 + alpha · log(1 + strength / epsilon).");
ABSL_FLAG(std::string, implicit_confidence, "linear",
          "Implicit ALS confidence scale: linear or log.");
ABSL_FLAG(float, implicit_epsilon, 1.0f, "Implicit ALS log-scale epsilon.");
ABSL_FLAG(bool, implicit_search, true,
          "Events: search the retrieval settings on validation, starting "
          "from the --implicit_* values (false: use them as given).");
ABSL_FLAG(int32_t, implicit_iterations, 15, "Implicit ALS sweeps.");
ABSL_FLAG(absl::optional<bool>, recency_search, absl::nullopt,
          "=true/=false: choose the retrieval model's recency weighting on "
          "each user's latest interaction. Default: on for ratings, off for "
          "events (it ranks what users do next better and a random hold-out "
          "worse).");
ABSL_FLAG(bool, item_item, true,
          "Explicit data: try the item-item retrieval model (EASE) on the "
          "latest-interaction validation, and rank with it when it beats the "
          "embeddings (catalogs up to --item_item_max_items).");
ABSL_FLAG(int32_t, item_item_max_items, 4096,
          "Largest catalog the item-item model is tried on: it holds items² "
          "weights (4 bytes each) and trains in about items³ operations.");
ABSL_FLAG(bool, item_item_guard, true,
          "Rank with the item-item model only when it also ranks a random "
          "20% of each validation user's ratings at least as well as the "
          "embeddings (=false: judge it by the latest rating alone, which "
          "favours what users rate next over their other ratings).");
ABSL_FLAG(absl::optional<int32_t>, candidates, absl::nullopt,
          "Two-stage candidate pool. Default: chosen on validation.");
ABSL_FLAG(absl::optional<float>, blend_weight, absl::nullopt,
          "Retrieval score weight in [0, 1] (chosen on validation).");
// Evaluation and output.
ABSL_FLAG(float, relevance_threshold, 4.0f,
          "Test ratings at or above this are relevant for top-N metrics "
          "(events: every positive interaction is).");
ABSL_FLAG(int32_t, top_k, 10, "K of the top-N metrics.");
ABSL_FLAG(int32_t, eval_max_users, 20000,
          "Full-ranking evaluation uses at most this many users; 0 = all. "
          "Validation ranks at most 5000, fewer if this is lower.");
ABSL_FLAG(double, fold_in_users, 0.1,
          "Share of users held out of training to measure request-time "
          "fold-in; 0 = off.");
ABSL_FLAG(std::string, report_json, "",
          "Write every metric, parameter, count and timing here as JSON.");
ABSL_FLAG(bool, cold_items, true,
          "With --items: learn maps from item attributes (genres, year, title "
          "words, --item_labels, --item_tags) to both models, publish them, "
          "and publish the items without interactions as cold items.");
ABSL_FLAG(double, cold_evaluation_items, 0.1,
          "Share of the items with interactions held out to measure new "
          "items (the cold-item split); 0 = off.");
ABSL_FLAG(bool, publish_evaluated, false,
          "Publish the evaluated models, not a refit on all ratings.");

namespace recserve {
namespace {

absl::StatusOr<TrainingPipelineOptions> PipelineOptionsFromFlags() {
  TrainingPipelineOptions o;
  ASSIGN_OR_RETURN(o.data, SourceFromFlags());
  const RatingSource& d = o.data;
  if (d.ratings_path.empty() == (d.train_path.empty() || d.test_path.empty()) ||
      d.train_path.empty() != d.test_path.empty()) {
    return absl::InvalidArgumentError(
        "give --ratings FILE (split with --split), or --train FILE and --test "
        "FILE (see --help)");
  }
  RatingTrainingOptions& r = o.training.rating;
  RETURN_IF_ERROR(
      Prefix("algo", ParseAlgorithm(absl::GetFlag(FLAGS_algo)), &r.algorithm));
  SetSeedAndThreads(SeedFlag(), ThreadsFlag(), &o);
  r.validation_fraction = absl::GetFlag(FLAGS_validation_fraction);
  r.refit = absl::GetFlag(FLAGS_refit);
  r.bpmf.implicit_terms = absl::GetFlag(FLAGS_bpmf_implicit_terms);
  r.bpmf.item_labels = absl::GetFlag(FLAGS_bpmf_item_labels);
  r.bpmf.user_labels = absl::GetFlag(FLAGS_bpmf_user_labels);
  r.bpmf.day_biases = absl::GetFlag(FLAGS_bpmf_day_biases);
  r.bpmf.ordinal_output = absl::GetFlag(FLAGS_bpmf_ordinal);
  if (const auto factors = absl::GetFlag(FLAGS_factors))
    SetFactors(*factors, &r);
  if (const auto epochs = absl::GetFlag(FLAGS_epochs))
    SetMaxEpochs(*epochs, &r);
  if (const auto reg = absl::GetFlag(FLAGS_reg)) SetRegularization(*reg, &r);
  if (absl::GetFlag(FLAGS_reg) && r.algorithm == Algorithm::kBpmf) {
    std::fprintf(stderr, "warning: --reg is ignored by bpmf\n");
  }
  if (absl::GetFlag(FLAGS_reg) && r.algorithm == Algorithm::kAuto) {
    std::fprintf(stderr,
                 "warning: --reg is ignored if --algo auto picks bpmf (up to "
                 "%lld training ratings)\n",
                 static_cast<long long>(r.bpmf_max_ratings));
  }
  if (const auto lr = absl::GetFlag(FLAGS_lr)) r.sgd.learning_rate = *lr;
  TwoStageTrainingOptions& t = o.training;
  t.train_retrieval = absl::GetFlag(FLAGS_retrieval);
  t.retrieval.factors = absl::GetFlag(FLAGS_implicit_factors);
  if (const auto reg = absl::GetFlag(FLAGS_implicit_reg)) {
    if (!(*reg > 0))
      return absl::InvalidArgumentError("--implicit_reg must be > 0");
    t.retrieval.reg = *reg, t.retrieval_reg_grid = {*reg};
  }
  t.retrieval.unobserved_weight =
      absl::GetFlag(FLAGS_implicit_unobserved_weight);
  t.retrieval.alpha = absl::GetFlag(FLAGS_implicit_alpha);
  RETURN_IF_ERROR(
      Prefix("implicit_confidence",
             ParseConfidenceScale(absl::GetFlag(FLAGS_implicit_confidence)),
             &t.retrieval.confidence_scale));
  t.retrieval.epsilon = absl::GetFlag(FLAGS_implicit_epsilon);
  t.tune_retrieval = absl::GetFlag(FLAGS_implicit_search);
  if (const auto search = absl::GetFlag(FLAGS_recency_search))
    t.search_recency = *search;
  t.retrieval.iterations = absl::GetFlag(FLAGS_implicit_iterations);
  t.search_item_item = absl::GetFlag(FLAGS_item_item);
  t.item_item_max_items = absl::GetFlag(FLAGS_item_item_max_items);
  t.item_item_guard = absl::GetFlag(FLAGS_item_item_guard);
  if (const auto c = absl::GetFlag(FLAGS_candidates)) {
    t.ranking.candidates = *c, t.candidate_grid.clear();
  }
  if (const auto w = absl::GetFlag(FLAGS_blend_weight)) {
    t.ranking.blend_weight = *w, t.blend_grid = {*w};
  }
  o.evaluation.k = t.validation.k = absl::GetFlag(FLAGS_top_k);
  o.evaluation.relevance_threshold = absl::GetFlag(FLAGS_relevance_threshold);
  o.evaluation.max_users = absl::GetFlag(FLAGS_eval_max_users);
  if (o.evaluation.max_users > 0) {
    t.validation.max_users =
        std::min(t.validation.max_users, o.evaluation.max_users);
  }
  o.fold_in_users = absl::GetFlag(FLAGS_fold_in_users);
  o.cold.enabled = absl::GetFlag(FLAGS_cold_items);
  o.cold.evaluation_items = absl::GetFlag(FLAGS_cold_evaluation_items);
  o.cold.map.seed = SeedFlag();
  o.cold.max_users = absl::GetFlag(FLAGS_eval_max_users);
  o.published = absl::GetFlag(FLAGS_publish_evaluated)
                    ? PublishedModels::kEvaluated
                    : PublishedModels::kRefit;
  o.output = OutputFromFlags();
  return o;
}

}  // namespace

absl::Status RunTrain() {
  ASSIGN_OR_RETURN(const TrainingPipelineOptions options,
                   PipelineOptionsFromFlags());
  ASSIGN_OR_RETURN(const TrainingRun run,
                   RunTrainingPipeline(options, ConsoleObserver(options)));
  PrintOutcome(run);
  const std::string path = absl::GetFlag(FLAGS_report_json);
  if (path.empty()) return absl::OkStatus();
  const std::string json = TrainingReportJson(run).dump(2) + "\n";
  return WriteFileDurably(path, {json});
}

}  // namespace recserve
