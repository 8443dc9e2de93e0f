// recserve-train (train, generate, import; usage in main): flags → the
// pipeline's options (core/pipeline), progress printed as it reports it.

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "core/pipeline/import_pipeline.h"
#include "core/pipeline/training_pipeline.h"
#include "core/synthetic/synthetic_generator.h"
#include "trainer/console_output.h"

// Data.
ABSL_FLAG(std::string, ratings, "",
          "Ratings file (MovieLens or generic). generate: how many.");
ABSL_FLAG(std::string, format, "auto",
          "Ratings format: auto, ml100k, dat, csv or generic.");
ABSL_FLAG(std::string, columns,
          "user=userId,item=movieId,rating=rating,timestamp=timestamp",
          "Generic format: header column of each field.");
ABSL_FLAG(std::string, delimiter, ",", "Generic format: field delimiter.");
ABSL_FLAG(std::string, rating_range, "0.5:5",
          "MIN:MAX of valid ratings; others are out-of-scale errors.");
ABSL_FLAG(std::string, train, "", "Training ratings file (with --test).");
ABSL_FLAG(std::string, test, "", "Test ratings file (with --train).");
ABSL_FLAG(std::string, split, "random:0.1",
          "random:F, temporal:F, last:N, loo or none (no evaluation).");
ABSL_FLAG(std::string, items, "",
          "Item metadata (titles, genres). generate: how many items.");
ABSL_FLAG(std::string, items_format, "auto",
          "Item metadata format: auto, uitem, dat or csv.");
ABSL_FLAG(std::string, item_labels, "",
          "Item labels for the server's filters: lines 'item<TAB>label|label' "
          "(or comma-separated).");
ABSL_FLAG(bool, skip_bad_lines, false,
          "Count and skip malformed lines instead of failing.");
// Models.
ABSL_FLAG(std::string, algo, "bpmf",
          "bpmf (Bayesian MF, infers its regularization), als or sgd.");
ABSL_FLAG(absl::optional<int32_t>, factors, absl::nullopt,
          "Latent dimensions (BPMF 32; ALS/SGD: chosen on validation).");
ABSL_FLAG(absl::optional<int32_t>, epochs, absl::nullopt,
          "Maximum epochs: ALS 25, SGD 60, BPMF sweeps 100 by default.");
ABSL_FLAG(absl::optional<float>, reg, absl::nullopt,
          "ALS/SGD L2 regularization. Default: chosen on validation.");
ABSL_FLAG(absl::optional<float>, lr, absl::nullopt,
          "SGD learning rate (default 0.02).");
ABSL_FLAG(double, validation_fraction, 0.05,
          "Share of training ratings held out for early stopping (ALS, SGD).");
ABSL_FLAG(bool, refit, true,
          "ALS/SGD: after early stopping, retrain on all training ratings.");
ABSL_FLAG(uint64_t, seed, 1,
          "Random seed; deterministic for a seed and thread count.");
ABSL_FLAG(int32_t, threads, 0, "Worker threads; 0 = all cores.");
ABSL_FLAG(bool, retrieval, true,
          "Learn retrieval embeddings (implicit ALS) and rank in two stages.");
ABSL_FLAG(int32_t, implicit_factors, 32, "Retrieval embedding dimensions.");
ABSL_FLAG(absl::optional<float>, implicit_reg, absl::nullopt,
          "Implicit ALS regularization. Default: chosen on validation.");
ABSL_FLAG(float, implicit_unobserved_weight, 1.0f,
          "Implicit ALS weight of every unrated cell.");
ABSL_FLAG(float, implicit_alpha, 0.3f,
          "Implicit ALS confidence: a rated cell weighs 1 + alpha · rating.");
ABSL_FLAG(int32_t, implicit_iterations, 15, "Implicit ALS sweeps.");
ABSL_FLAG(absl::optional<int32_t>, candidates, absl::nullopt,
          "Two-stage candidate pool. Default: chosen on validation.");
ABSL_FLAG(absl::optional<float>, blend_weight, absl::nullopt,
          "Retrieval score weight in [0, 1] (chosen on validation).");
// Evaluation and output.
ABSL_FLAG(float, relevance_threshold, 4.0f,
          "Test ratings at or above this are relevant for top-N metrics.");
ABSL_FLAG(int32_t, top_k, 10, "K of the top-N metrics.");
ABSL_FLAG(int32_t, eval_max_users, 20000,
          "Full-ranking evaluation uses at most this many users; 0 = all.");
ABSL_FLAG(double, fold_in_users, 0.1,
          "Share of users held out of training to measure request-time "
          "fold-in; 0 = off.");
ABSL_FLAG(std::string, report_json, "",
          "Write every metric, parameter, count and timing here as JSON.");
ABSL_FLAG(bool, publish_evaluated, false,
          "Publish the evaluated models, not a refit on all ratings.");
ABSL_FLAG(std::string, out, "",
          "Snapshot root to publish under. generate: the ratings file.");
ABSL_FLAG(int32_t, keep_versions, 5, "Snapshot versions to keep.");
ABSL_FLAG(bool, build_index, false,
          "Build the server's HNSW indexes into the snapshot.");
ABSL_FLAG(int32_t, index_m, 16,
          "HNSW graph degree M (must match the server's --index_m).");
ABSL_FLAG(int32_t, index_ef_construction, 200,
          "HNSW build breadth (must match the server's).");
// generate.
ABSL_FLAG(int32_t, users, 2000, "generate: number of users.");
ABSL_FLAG(double, noise, 0.5, "generate: σ of the rating noise.");
ABSL_FLAG(int32_t, latent_factors, 2,
          "generate: rank of the hidden taste structure.");
ABSL_FLAG(double, exposure_taste, 3.0,
          "generate: β of P(rated) ∝ popularity · exp(β · taste); 0 = "
          "popularity alone.");
ABSL_FLAG(int32_t, genres, 8, "generate: number of made-up genres.");
// import.
ABSL_FLAG(std::string, user_factors, "",
          "import: user factor file, rows 'id, bias, f1..fk'.");
ABSL_FLAG(std::string, item_factors, "",
          "import: item factor file, rows 'id, bias, f1..fk'.");
ABSL_FLAG(std::string, user_embeddings, "",
          "import: optional user retrieval embeddings, rows 'id, f1..fk'.");
ABSL_FLAG(std::string, item_embeddings, "",
          "import: optional item retrieval embeddings, rows 'id, f1..fk'.");
ABSL_FLAG(absl::optional<float>, global_mean, absl::nullopt,
          "import: global mean μ (default: the ratings' mean).");

namespace recserve {
namespace {

template <typename T>
absl::Status Prefix(const char* flag, absl::StatusOr<T> parsed, T* out) {
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", parsed.status().message()));
  }
  *out = *std::move(parsed);
  return absl::OkStatus();
}

absl::StatusOr<RatingSource> SourceFromFlags() {
  RatingSource s;
  s.ratings_path = absl::GetFlag(FLAGS_ratings);
  s.train_path = absl::GetFlag(FLAGS_train);
  s.test_path = absl::GetFlag(FLAGS_test);
  RETURN_IF_ERROR(Prefix("format",
                         ParseRatingFormat(absl::GetFlag(FLAGS_format)),
                         &s.read.format));
  s.read.skip_bad_lines = s.items.skip_bad_lines =
      s.item_labels.skip_bad_lines = absl::GetFlag(FLAGS_skip_bad_lines);
  s.read.generic_columns = absl::GetFlag(FLAGS_columns);
  s.read.generic_delimiter = absl::GetFlag(FLAGS_delimiter);
  const absl::Status range =
      ParseRatingRange(absl::GetFlag(FLAGS_rating_range), &s.read);
  if (!range.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--rating_range: ", range.message()));
  }
  const std::string split = absl::GetFlag(FLAGS_split);
  if (split == "none") {
    s.split.reset();
  } else if (s.train_path.empty() && s.test_path.empty()) {
    RETURN_IF_ERROR(Prefix("split", ParseSplitSpec(split), &s.split.emplace()));
  }
  s.items_path = absl::GetFlag(FLAGS_items);
  s.item_labels_path = absl::GetFlag(FLAGS_item_labels);
  RETURN_IF_ERROR(Prefix("items_format",
                         ParseItemFormat(absl::GetFlag(FLAGS_items_format)),
                         &s.items.format));
  s.read.progress = ReadProgress();
  return s;
}

SnapshotOutput OutputFromFlags() {
  SnapshotOutput out;
  out.root = absl::GetFlag(FLAGS_out);
  out.keep_versions = absl::GetFlag(FLAGS_keep_versions);
  if (absl::GetFlag(FLAGS_build_index)) {
    out.index.emplace();
    out.index->m = absl::GetFlag(FLAGS_index_m);
    out.index->ef_construction = absl::GetFlag(FLAGS_index_ef_construction);
    out.index->threads = absl::GetFlag(FLAGS_threads);
  }
  return out;
}

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
  SetSeedAndThreads(absl::GetFlag(FLAGS_seed), absl::GetFlag(FLAGS_threads),
                    &o);
  r.validation_fraction = absl::GetFlag(FLAGS_validation_fraction);
  r.refit = absl::GetFlag(FLAGS_refit);
  if (const auto factors = absl::GetFlag(FLAGS_factors))
    SetFactors(*factors, &r);
  if (const auto epochs = absl::GetFlag(FLAGS_epochs))
    SetMaxEpochs(*epochs, &r);
  if (const auto reg = absl::GetFlag(FLAGS_reg)) SetRegularization(*reg, &r);
  if (absl::GetFlag(FLAGS_reg) && r.algorithm == Algorithm::kBpmf) {
    std::fprintf(stderr, "warning: --reg is ignored by bpmf\n");
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
  t.retrieval.iterations = absl::GetFlag(FLAGS_implicit_iterations);
  if (const auto c = absl::GetFlag(FLAGS_candidates)) {
    t.ranking.candidates = *c, t.candidate_grid.clear();
  }
  if (const auto w = absl::GetFlag(FLAGS_blend_weight)) {
    t.ranking.blend_weight = *w, t.blend_grid = {*w};
  }
  o.evaluation.k = t.validation.k = absl::GetFlag(FLAGS_top_k);
  o.evaluation.relevance_threshold = absl::GetFlag(FLAGS_relevance_threshold);
  o.evaluation.max_users = t.validation.max_users =
      absl::GetFlag(FLAGS_eval_max_users);
  o.fold_in_users = absl::GetFlag(FLAGS_fold_in_users);
  o.published = absl::GetFlag(FLAGS_publish_evaluated)
                    ? PublishedModels::kEvaluated
                    : PublishedModels::kRefit;
  o.output = OutputFromFlags();
  return o;
}

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

absl::StatusOr<int64_t> ParseCount(const char* flag, const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("generate: --", flag,
                     " must be a positive whole number, got '", text, "'"));
  }
  return value;
}

absl::Status RunGenerate() {
  GeneratorOptions o;
  o.users = absl::GetFlag(FLAGS_users);
  const std::string items = absl::GetFlag(FLAGS_items),
                    ratings = absl::GetFlag(FLAGS_ratings);
  ASSIGN_OR_RETURN(const int64_t item_count,
                   ParseCount("items", items.empty() ? "1000" : items));
  o.items = static_cast<int32_t>(item_count);
  ASSIGN_OR_RETURN(o.ratings,
                   ParseCount("ratings", ratings.empty() ? "200000" : ratings));
  o.noise = absl::GetFlag(FLAGS_noise);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.latent_factors = absl::GetFlag(FLAGS_latent_factors);
  o.genres = absl::GetFlag(FLAGS_genres);
  o.exposure_taste = absl::GetFlag(FLAGS_exposure_taste);
  o.threads = absl::GetFlag(FLAGS_threads);
  o.out = absl::GetFlag(FLAGS_out);
  if (o.out.empty()) {
    return absl::InvalidArgumentError("generate: --out FILE is required");
  }
  o.progress = GenerateProgress();
  ASSIGN_OR_RETURN(const GeneratorReport r, GenerateSyntheticData(o));
  PrintGenerated(r);
  return absl::OkStatus();
}

absl::Status RunImport() {
  ImportPipelineOptions o;
  o.factors.user_factors_path = absl::GetFlag(FLAGS_user_factors);
  o.factors.item_factors_path = absl::GetFlag(FLAGS_item_factors);
  o.factors.user_embeddings_path = absl::GetFlag(FLAGS_user_embeddings);
  o.factors.item_embeddings_path = absl::GetFlag(FLAGS_item_embeddings);
  if (const auto mean = absl::GetFlag(FLAGS_global_mean))
    o.factors.global_mean = *mean;
  if (o.factors.user_factors_path.empty() ||
      o.factors.item_factors_path.empty() ||
      absl::GetFlag(FLAGS_ratings).empty() ||
      absl::GetFlag(FLAGS_out).empty()) {
    return absl::InvalidArgumentError(
        "import needs --user_factors FILE --item_factors FILE --ratings FILE "
        "--out DIR");
  }
  ASSIGN_OR_RETURN(o.data, SourceFromFlags());
  if (const auto c = absl::GetFlag(FLAGS_candidates)) o.ranking.candidates = *c;
  if (const auto w = absl::GetFlag(FLAGS_blend_weight))
    o.ranking.blend_weight = *w;
  o.output = OutputFromFlags();
  ASSIGN_OR_RETURN(const ImportRun run, RunImportPipeline(o, PrintRead));
  PrintImported(run);
  return absl::OkStatus();
}

}  // namespace
}  // namespace recserve

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "learns a rating model, evaluates it and publishes a snapshot.\n"
      "  recserve-train [train] --ratings FILE [--split random:0.1] [--items "
      "FILE] --out DIR\n"
      "  recserve-train [train] --train FILE --test FILE --out DIR\n"
      "  recserve-train generate --users U --items I --ratings N --noise S "
      "--seed S --out FILE\n"
      "  recserve-train import --user_factors F --item_factors F --ratings F "
      "--out DIR");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  const std::string command = args.size() > 1 ? args[1] : "train";
  if (args.size() > 2) {
    std::fprintf(stderr, "recserve-train: unexpected argument '%s'\n", args[2]);
    return 2;
  }
  const std::map<std::string, absl::Status (*)()> commands = {
      {"train", recserve::RunTrain},
      {"generate", recserve::RunGenerate},
      {"import", recserve::RunImport}};
  const auto it = commands.find(command);
  if (it == commands.end()) {
    std::fprintf(stderr,
                 "recserve-train: unknown command '%s' (train, generate or "
                 "import)\n",
                 command.c_str());
    return 2;
  }
  const absl::Status status = it->second();
  if (!status.ok()) {
    std::fprintf(stderr, "recserve-train: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
