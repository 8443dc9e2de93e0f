// recserve-train: learns a biased matrix-factorization model from ratings,
// evaluates it beside a popularity baseline and publishes a snapshot.
//
//   recserve-train [train] --ratings FILE [--split random:0.1] --out DIR
//   recserve-train [train] --train FILE --test FILE --out DIR
//   recserve-train generate --users U --items I --ratings N --noise S --out F
//   recserve-train import --user_factors F --item_factors F --ratings F --out D

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/optional.h"
#include "core/eval/evaluation_report.h"
#include "core/train/factor_import.h"
#include "core/eval/genre_agreement.h"
#include "core/data/item_reader.h"
#include "core/train/rating_model_trainer.h"
#include "core/data/rating_reader.h"
#include "core/train/two_stage_trainer.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "core/data/split.h"
#include "core/base/status_macros.h"
#include "core/synthetic/synthetic_generator.h"

// Data.
ABSL_FLAG(std::string, ratings, "",
          "Ratings file (u.data, ratings.dat, ratings.csv or a generic "
          "delimited file). For 'generate': the number of ratings to write.");
ABSL_FLAG(std::string, format, "auto",
          "Ratings format: auto, ml100k, dat, csv or generic.");
ABSL_FLAG(std::string, columns,
          "user=userId,item=movieId,rating=rating,timestamp=timestamp",
          "Generic format: header column for each field (timestamp optional).");
ABSL_FLAG(std::string, delimiter, ",", "Generic format: field delimiter.");
ABSL_FLAG(std::string, rating_range, "0.5:5",
          "MIN:MAX of valid ratings; others are out-of-scale errors.");
ABSL_FLAG(std::string, train, "", "Training ratings file (with --test).");
ABSL_FLAG(std::string, test, "", "Test ratings file (with --train).");
ABSL_FLAG(std::string, split, "random:0.1",
          "How to split --ratings into train and test: random:FRACTION, "
          "temporal:FRACTION (globally latest), last:N (each user's latest N), "
          "loo (each user's latest one), or none (train on everything, no "
          "evaluation).");
ABSL_FLAG(std::string, items, "",
          "Item metadata (u.item, movies.dat, movies.csv) for titles and "
          "genres. For 'generate': the number of items.");
ABSL_FLAG(std::string, items_format, "auto",
          "Item metadata format: auto, uitem, dat or csv.");
ABSL_FLAG(bool, skip_bad_lines, false,
          "Count and skip malformed lines instead of failing.");

// Model.
ABSL_FLAG(std::string, algo, "bpmf",
          "bpmf (Bayesian MF by Gibbs sampling; infers its own "
          "regularization), als (alternating least squares, weighted-λ) or "
          "sgd (FunkSVD-style stochastic gradient descent).");
ABSL_FLAG(absl::optional<int32_t>, factors, absl::nullopt,
          "Latent dimensions. Default: BPMF 32; ALS and SGD choose 4, 16 or "
          "64 on the validation set.");
ABSL_FLAG(absl::optional<int32_t>, epochs, absl::nullopt,
          "Maximum epochs: ALS iterations (default 25), SGD epochs (default "
          "60), BPMF sweeps (default 100).");
ABSL_FLAG(absl::optional<float>, reg, absl::nullopt,
          "L2 regularization for ALS (λ per rating) and SGD. Default: chosen "
          "on the validation set from 0.015, 0.03, 0.06, 0.12, 0.24. BPMF "
          "infers its own.");
ABSL_FLAG(absl::optional<float>, lr, absl::nullopt,
          "SGD learning rate (default 0.02).");
ABSL_FLAG(double, validation_fraction, 0.05,
          "Share of training ratings held out for early stopping (ALS, SGD).");
ABSL_FLAG(bool, refit, true,
          "After early stopping, retrain on all training ratings for the "
          "chosen number of epochs.");
ABSL_FLAG(uint64_t, seed, 1,
          "Random seed; results are deterministic for a "
          "seed and thread count.");
ABSL_FLAG(int32_t, threads, 0, "Worker threads; 0 = all cores.");

// Retrieval embeddings and two-stage ranking.
ABSL_FLAG(bool, retrieval, true,
          "Learn implicit-feedback retrieval embeddings (who rated what) and "
          "rank in two stages; without them the server retrieves with the "
          "rating model's factors.");
ABSL_FLAG(int32_t, implicit_factors, 32, "Retrieval embedding dimensions.");
ABSL_FLAG(absl::optional<float>, implicit_reg, absl::nullopt,
          "Implicit ALS L2 regularization. Default: chosen on the validation "
          "set from 3, 10, 30, 100, 300.");
ABSL_FLAG(float, implicit_unobserved_weight, 1.0f,
          "Implicit ALS weight of every unrated (user, item) cell.");
ABSL_FLAG(float, implicit_alpha, 0.3f,
          "Implicit ALS confidence scaling: a rated cell weighs 1 + alpha · "
          "rating.");
ABSL_FLAG(int32_t, implicit_iterations, 15, "Implicit ALS sweeps.");
ABSL_FLAG(absl::optional<int32_t>, candidates, absl::nullopt,
          "Two-stage candidate pool: the top C unrated items by retrieval "
          "score, then reranked. Default: chosen on the validation set from "
          "100, 200, 400, 800.");
ABSL_FLAG(absl::optional<float>, blend_weight, absl::nullopt,
          "Weight of the normalized retrieval score against the normalized "
          "predicted rating when reranking, in [0, 1]. Default: chosen on a "
          "validation set from 0, 0.25, 0.5, 0.75, 1.");

// Evaluation.
ABSL_FLAG(float, relevance_threshold, 4.0f,
          "Test ratings at or above this are relevant for top-N metrics.");
ABSL_FLAG(int32_t, top_k, 10, "K of the top-N metrics.");
ABSL_FLAG(int32_t, eval_max_users, 20000,
          "Full-ranking evaluation uses at most this many users (a "
          "deterministic sample); 0 = all.");
ABSL_FLAG(std::string, report_json, "",
          "Write every metric, parameter, "
          "count and timing here as JSON.");

// Output.
ABSL_FLAG(std::string, out, "",
          "Snapshot root: a new version is published under it. For "
          "'generate': the ratings file to write.");
ABSL_FLAG(int32_t, keep_versions, 5, "Snapshot versions to keep.");
ABSL_FLAG(bool, build_index, false,
          "Build the server's HNSW indexes and publish them with the "
          "snapshot, so servers load them instead of building them.");
ABSL_FLAG(int32_t, index_m, 16,
          "HNSW graph degree M (must match the server's --index_m).");
ABSL_FLAG(int32_t, index_ef_construction, 200,
          "HNSW build breadth (must match the server's "
          "--index_ef_construction).");

// generate.
ABSL_FLAG(int32_t, users, 2000, "generate: number of users.");
ABSL_FLAG(double, noise, 0.5, "generate: σ of the rating noise.");
ABSL_FLAG(int32_t, latent_factors, 2,
          "generate: rank of the hidden taste structure.");
ABSL_FLAG(double, exposure_taste, 3.0,
          "generate: β of the exposure model P(rated) ∝ popularity · "
          "exp(β · taste); 0 = popularity alone.");
ABSL_FLAG(int32_t, genres, 8,
          "generate: number of made-up genres (directions in the taste "
          "space; titles name them).");

// import.
ABSL_FLAG(std::string, user_factors, "",
          "import: user factor file, rows 'id, bias, f1..fk'.");
ABSL_FLAG(std::string, item_factors, "",
          "import: item factor file, rows 'id, bias, f1..fk'.");
ABSL_FLAG(std::string, user_embeddings, "",
          "import: optional user retrieval embeddings, rows 'id, f1..fk' "
          "(with --item_embeddings).");
ABSL_FLAG(std::string, item_embeddings, "",
          "import: optional item retrieval embeddings, rows 'id, f1..fk'.");
ABSL_FLAG(absl::optional<float>, global_mean, absl::nullopt,
          "import: the model's global mean μ. Default: the mean of the "
          "ratings. Use 0 for models without one, such as Spark's ALS.");

namespace recserve {
namespace {

// Draws a progress indicator on stderr for large files when it is a
// terminal, and a line every 25% otherwise.
std::function<void(int64_t, int64_t)> ProgressPrinter(std::string label) {
  const bool tty = isatty(STDERR_FILENO);
  auto last_quarter = std::make_shared<int>(-1);
  return [label, tty, last_quarter](int64_t done, int64_t total) {
    if (total < (64 << 20)) return;
    const int percent = static_cast<int>(100.0 * done / total);
    if (tty) {
      std::fprintf(stderr, "\r%s %3d%% (%lld / %lld MB)%s", label.c_str(),
                   percent, static_cast<long long>(done >> 20),
                   static_cast<long long>(total >> 20),
                   done >= total ? "\n" : "");
    } else if (percent / 25 != *last_quarter) {
      *last_quarter = percent / 25;
      std::fprintf(stderr, "%s %d%%\n", label.c_str(), percent);
    }
  };
}

absl::StatusOr<RatingReadOptions> ReadOptionsFromFlags() {
  RatingReadOptions options;
  ASSIGN_OR_RETURN(options.format,
                   ParseRatingFormat(absl::GetFlag(FLAGS_format)));
  options.skip_bad_lines = absl::GetFlag(FLAGS_skip_bad_lines);
  options.generic_columns = absl::GetFlag(FLAGS_columns);
  options.generic_delimiter = absl::GetFlag(FLAGS_delimiter);
  const std::string range = absl::GetFlag(FLAGS_rating_range);
  std::vector<std::string> parts = absl::StrSplit(range, ':');
  if (parts.size() != 2 || !absl::SimpleAtof(parts[0], &options.min_rating) ||
      !absl::SimpleAtof(parts[1], &options.max_rating) ||
      !(options.min_rating < options.max_rating)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--rating_range: expected MIN:MAX with MIN < MAX, got '", range, "'"));
  }
  return options;
}

absl::StatusOr<RatingReadReport> ReadRatingFile(const std::string& path,
                                                RatingReadOptions options,
                                                Dataset* into) {
  options.progress = ProgressPrinter("reading " + path);
  ASSIGN_OR_RETURN(RatingReadReport report, ReadRatings(path, options, into));
  std::printf("Read %s (%s): %lld ratings", path.c_str(),
              std::string(RatingFormatName(report.format)).c_str(),
              static_cast<long long>(report.ratings));
  if (report.duplicates_dropped > 0) {
    std::printf(", %lld duplicate (user, item) pairs dropped (latest kept)",
                static_cast<long long>(report.duplicates_dropped));
  }
  std::printf("\n");
  if (report.skipped_bad_lines > 0) {
    std::fprintf(stderr, "warning: skipped %lld bad lines in %s, e.g.:\n",
                 static_cast<long long>(report.skipped_bad_lines),
                 path.c_str());
    for (const std::string& message : report.bad_line_messages) {
      std::fprintf(stderr, "  %s\n", message.c_str());
    }
  }
  return report;
}

// Reads the training data and splits it as the flags say. Sets *evaluate to
// false when there is no test set.
absl::StatusOr<TrainTest> LoadTrainTest(const RatingReadOptions& read_options,
                                        bool* evaluate) {
  const std::string ratings = absl::GetFlag(FLAGS_ratings);
  const std::string train = absl::GetFlag(FLAGS_train);
  const std::string test = absl::GetFlag(FLAGS_test);
  Dataset all;
  *evaluate = true;
  if (!train.empty() || !test.empty()) {
    if (train.empty() || test.empty() || !ratings.empty()) {
      return absl::InvalidArgumentError(
          "give either --ratings FILE (split with --split) or both --train "
          "FILE and --test FILE");
    }
    RETURN_IF_ERROR(ReadRatingFile(train, read_options, &all).status());
    const size_t num_train = all.ratings.size();
    RETURN_IF_ERROR(ReadRatingFile(test, read_options, &all).status());
    return MakeTrainTest(all, num_train);
  }
  if (ratings.empty()) {
    return absl::InvalidArgumentError(
        "no ratings: give --ratings FILE, or --train FILE and --test FILE "
        "(see --help)");
  }
  RETURN_IF_ERROR(ReadRatingFile(ratings, read_options, &all).status());
  const std::string split = absl::GetFlag(FLAGS_split);
  if (split == "none") {
    *evaluate = false;
    return MakeTrainTest(all, all.ratings.size());
  }
  ASSIGN_OR_RETURN(SplitSpec spec, ParseSplitSpec(split));
  return SplitDataset(all, spec, absl::GetFlag(FLAGS_seed));
}

absl::StatusOr<ModelTrainingOptions> TrainingOptionsFromFlags() {
  ModelTrainingOptions options;
  ASSIGN_OR_RETURN(options.algorithm,
                   ParseAlgorithm(absl::GetFlag(FLAGS_algo)));
  const absl::optional<int32_t> factors_flag = absl::GetFlag(FLAGS_factors);
  const int32_t factors = factors_flag.value_or(32);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  const int32_t threads = absl::GetFlag(FLAGS_threads);
  options.seed = seed;
  options.validation_fraction = absl::GetFlag(FLAGS_validation_fraction);
  options.refit = absl::GetFlag(FLAGS_refit);
  if (!(options.validation_fraction >= 0 && options.validation_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--validation_fraction must be in [0, 1), got ",
                     options.validation_fraction));
  }
  const absl::optional<int32_t> epochs = absl::GetFlag(FLAGS_epochs);
  const absl::optional<float> reg = absl::GetFlag(FLAGS_reg);
  // An explicit --reg is used as given; otherwise it is chosen on data, and
  // so are the factors unless --factors is given.
  options.tune_reg = !reg.has_value();
  if (factors_flag) options.factor_grid.clear();
  const absl::optional<float> lr = absl::GetFlag(FLAGS_lr);

  options.als.factors = factors;
  options.als.seed = seed;
  options.als.threads = threads;
  if (epochs) options.als.max_iterations = *epochs;
  if (reg) options.als.reg = *reg;

  options.sgd.factors = factors;
  options.sgd.seed = seed;
  options.sgd.threads = threads;
  if (epochs) options.sgd.max_epochs = *epochs;
  if (reg) options.sgd.reg = *reg;
  if (lr) options.sgd.learning_rate = *lr;

  options.bpmf.factors = factors;
  options.bpmf.seed = seed;
  options.bpmf.threads = threads;
  if (epochs) {
    options.bpmf.sweeps = *epochs;
    options.bpmf.burn_in = std::min(options.bpmf.burn_in, *epochs / 2);
  }
  if (options.algorithm == Algorithm::kBpmf && reg) {
    std::fprintf(stderr,
                 "warning: --reg is ignored by bpmf, which infers "
                 "its regularization\n");
  }
  return options;
}

// The SimilarItems sanity figure: how often an item's 10 nearest neighbours
// share a genre, for the retrieval embeddings (what SimilarItems uses) and
// the rating factors, beside random pairs.
void AddGenreAgreement(const Dataset& train, const ItemCatalog& catalog,
                       const MfModel& model, const RetrievalModel* retrieval,
                       nlohmann::json* metrics) {
  std::vector<std::vector<std::string>> genres(train.num_items());
  for (int32_t i = 0; i < train.num_items(); ++i) {
    auto it = catalog.find(train.items.Id(i));
    if (it != catalog.end()) genres[i] = it->second.genres;
  }
  const int32_t threads = absl::GetFlag(FLAGS_threads);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  std::printf("Similar items (10 nearest by cosine) sharing a genre:");
  bool any = false;
  for (const auto& [name, vectors] :
       {std::pair<const char*, const FactorMatrix*>{
            "retrieval", retrieval ? &retrieval->item_factors : nullptr},
        {"rating_factors", &model.item_factors}}) {
    if (vectors == nullptr) continue;
    const std::optional<GenreAgreement> a =
        MeasureGenreAgreement(*vectors, genres, 10, 2000, seed, threads);
    if (!a) continue;
    any = true;
    std::printf(" %s %.3f,", name, a->neighbours);
    (*metrics)[absl::StrCat("similar_items/genre_share@10/", name)] =
        a->neighbours;
    (*metrics)["similar_items/genre_share/random_pairs"] = a->random;
  }
  if (any) {
    std::printf(
        " random pairs %.3f\n\n",
        (*metrics)["similar_items/genre_share/random_pairs"].get<double>());
  } else {
    std::printf(" no genres in the item metadata\n\n");
  }
}

absl::StatusOr<RecommenderTrainingOptions> RecommenderOptionsFromFlags(
    const ModelTrainingOptions& rating) {
  RecommenderTrainingOptions o;
  o.rating = rating;
  o.train_retrieval = absl::GetFlag(FLAGS_retrieval);
  o.retrieval.factors = absl::GetFlag(FLAGS_implicit_factors);
  if (const absl::optional<float> reg = absl::GetFlag(FLAGS_implicit_reg)) {
    if (!(*reg > 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--implicit_reg must be > 0, got ", *reg));
    }
    o.retrieval.reg = *reg;
    o.retrieval_reg_grid = {*reg};
  }
  o.retrieval.unobserved_weight =
      absl::GetFlag(FLAGS_implicit_unobserved_weight);
  o.retrieval.alpha = absl::GetFlag(FLAGS_implicit_alpha);
  o.retrieval.iterations = absl::GetFlag(FLAGS_implicit_iterations);
  o.retrieval.threads = absl::GetFlag(FLAGS_threads);
  o.retrieval.seed = absl::GetFlag(FLAGS_seed);
  if (const absl::optional<int32_t> c = absl::GetFlag(FLAGS_candidates)) {
    if (*c < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--candidates must be >= 1, got ", *c));
    }
    o.ranking.candidates = *c;
    o.candidate_grid.clear();
  }
  if (const absl::optional<float> w = absl::GetFlag(FLAGS_blend_weight)) {
    if (!(*w >= 0 && *w <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--blend_weight must be in [0, 1], got ", *w));
    }
    o.ranking.blend_weight = *w;
    o.blend_grid = {*w};
  }
  o.validation.k = absl::GetFlag(FLAGS_top_k);
  o.validation.seed = absl::GetFlag(FLAGS_seed);
  o.validation.threads = absl::GetFlag(FLAGS_threads);
  o.validation.max_users = absl::GetFlag(FLAGS_eval_max_users);
  return o;
}

PublishOptions PublishOptionsFromFlags() {
  PublishOptions publish;
  publish.keep_versions = absl::GetFlag(FLAGS_keep_versions);
  if (absl::GetFlag(FLAGS_build_index)) {
    ItemIndexOptions index;
    index.m = absl::GetFlag(FLAGS_index_m);
    index.ef_construction = absl::GetFlag(FLAGS_index_ef_construction);
    index.threads = absl::GetFlag(FLAGS_threads);
    publish.before_rename = [index](const std::string& dir) {
      const auto start = std::chrono::steady_clock::now();
      RETURN_IF_ERROR(BuildSnapshotIndexes(dir, index));
      std::printf("Built the HNSW indexes in %.1fs\n", SecondsSince(start));
      return absl::OkStatus();
    };
  }
  return publish;
}

nlohmann::json RetrievalParamsToJson(const RecommenderTrainingResult& r) {
  if (!r.retrieval) return nullptr;
  const ImplicitAlsOptions& o = r.retrieval_options;
  return {{"algo", "implicit_als"},
          {"factors", o.factors},
          {"reg", o.reg},
          {"reg_tuned", !r.retrieval_reg_trials.empty()},
          {"unobserved_weight", o.unobserved_weight},
          {"alpha", o.alpha},
          {"iterations", o.iterations}};
}

nlohmann::json ParamsToJson(const ModelTrainingOptions& o,
                            const ModelTrainingResult& r) {
  nlohmann::json p;
  p["algo"] = std::string(AlgorithmName(o.algorithm));
  p["seed"] = o.seed;
  p["epochs_run"] = r.chosen_epochs;
  if (o.algorithm != Algorithm::kBpmf) p["reg_tuned"] = !r.reg_trials.empty();
  p["refit"] = r.refitted;
  switch (o.algorithm) {
    case Algorithm::kAls:
      p["factors"] = r.factors;
      p["max_iterations"] = o.als.max_iterations;
      p["reg"] = r.reg;
      p["bias_reg"] = o.als.bias_reg;
      p["validation_fraction"] = o.validation_fraction;
      break;
    case Algorithm::kSgd:
      p["factors"] = r.factors;
      p["max_epochs"] = o.sgd.max_epochs;
      p["lr"] = o.sgd.learning_rate;
      p["lr_decay"] = o.sgd.learning_rate_decay;
      p["reg"] = r.reg;
      p["bias_reg"] = o.sgd.bias_reg;
      p["validation_fraction"] = o.validation_fraction;
      break;
    case Algorithm::kBpmf:
      p["factors"] = o.bpmf.factors;
      p["sweeps"] = o.bpmf.sweeps;
      p["burn_in"] = o.bpmf.burn_in;
      break;
  }
  return p;
}

// JSON has no NaN or infinity: metrics that do not exist for a run (e.g. a
// validation RMSE without validation) are written as null.
nlohmann::json FiniteOrNull(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

absl::Status WriteJsonFile(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  out.close();
  if (!out) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

absl::Status RunTrain() {
  ASSIGN_OR_RETURN(RatingReadOptions read_options, ReadOptionsFromFlags());
  ASSIGN_OR_RETURN(ModelTrainingOptions options, TrainingOptionsFromFlags());
  bool evaluate = true;
  ASSIGN_OR_RETURN(TrainTest data, LoadTrainTest(read_options, &evaluate));
  const RatingScale scale = InferRatingScale(data.train.ratings);
  std::printf(
      "Training set: %d users, %d items, %zu ratings (scale %g..%g, "
      "step %g); test set: %zu ratings\n",
      data.train.num_users(), data.train.num_items(), data.train.ratings.size(),
      scale.min, scale.max, scale.step, data.test.size());

  ItemCatalog catalog;
  const std::string items_path = absl::GetFlag(FLAGS_items);
  if (!items_path.empty()) {
    ItemReadOptions item_options;
    ASSIGN_OR_RETURN(item_options.format,
                     ParseItemFormat(absl::GetFlag(FLAGS_items_format)));
    item_options.skip_bad_lines = absl::GetFlag(FLAGS_skip_bad_lines);
    ASSIGN_OR_RETURN(ItemReadReport items,
                     ReadItems(items_path, item_options, &catalog));
    std::printf("Read %s: %lld items with titles\n", items_path.c_str(),
                static_cast<long long>(items.items));
  }

  std::printf("Training %s\n",
              std::string(AlgorithmName(options.algorithm)).c_str());
  TrainingObserver observer;
  observer.on_phase = [](absl::string_view phase) {
    if (phase == "validation") {
      std::printf(
          "Choosing the blend weight: training both models without "
          "each user's latest rating\n");
    } else if (phase == "retrieval") {
      std::printf("Training retrieval embeddings (implicit ALS)\n");
    } else if (phase == "refit") {
      std::printf(
          "Refitting on all training ratings for the chosen number "
          "of epochs\n");
    }
  };
  observer.on_epoch = [](const EpochStats& s) {
    if (std::isnan(s.valid_rmse)) {
      std::printf("  epoch %3d  train RMSE %.4f  %7.1fs\n", s.epoch,
                  s.train_rmse, s.seconds);
    } else {
      std::printf("  epoch %3d  train RMSE %.4f  valid RMSE %.4f  %7.1fs\n",
                  s.epoch, s.train_rmse, s.valid_rmse, s.seconds);
    }
    std::fflush(stdout);
  };
  ASSIGN_OR_RETURN(RecommenderTrainingOptions recommender_options,
                   RecommenderOptionsFromFlags(options));
  ASSIGN_OR_RETURN(RecommenderTrainingResult recommender,
                   TrainRecommender(data.train, recommender_options, observer));
  const ModelTrainingResult& trained = recommender.rating;
  std::printf("Trained in %.1fs (%d epochs", trained.train.seconds,
              trained.chosen_epochs);
  if (!std::isnan(trained.validation_rmse)) {
    std::printf(", best validation RMSE %.4f", trained.validation_rmse);
  }
  std::printf(")\n");
  if (!trained.reg_trials.empty()) {
    std::printf("Chosen on validation: %d factors, λ %g (RMSE by factors/λ:",
                trained.factors, trained.reg);
    for (const RegTrial& t : trained.reg_trials) {
      std::printf(" %d/%g→%.4f", t.factors, t.reg, t.validation_rmse);
    }
    std::printf(" )\n");
  }
  if (recommender.retrieval) {
    std::printf("Retrieval embeddings: %d factors, λ %g, in %.1fs\n",
                recommender.retrieval_options.factors,
                recommender.retrieval_options.reg,
                recommender.retrieval_seconds);
  }
  if (!recommender.retrieval_reg_trials.empty()) {
    std::printf("Retrieval λ chosen on validation (leave-one-out NDCG@%d by λ:",
                recommender_options.validation.k);
    for (const RetrievalRegTrial& t : recommender.retrieval_reg_trials) {
      std::printf(" %g→%.4f", t.reg, t.ndcg);
    }
    std::printf(" )\n");
  }
  if (!recommender.blend_trials.empty()) {
    std::printf(
        "Ranking chosen on validation (leave-one-out NDCG@%d): %d "
        "candidates, blend weight %g (candidates/weight:",
        recommender_options.validation.k, recommender.ranking.candidates,
        recommender.ranking.blend_weight);
    for (const BlendTrial& t : recommender.blend_trials) {
      std::printf(" %d/%g→%.4f", t.candidates, t.blend_weight, t.ndcg);
    }
    std::printf(" )\n");
  }
  std::printf("\n");

  nlohmann::json metrics = nlohmann::json::object();
  if (evaluate && !data.test.empty()) {
    TopNOptions topn;
    topn.k = absl::GetFlag(FLAGS_top_k);
    topn.relevance_threshold = absl::GetFlag(FLAGS_relevance_threshold);
    topn.seed = absl::GetFlag(FLAGS_seed);
    topn.threads = absl::GetFlag(FLAGS_threads);
    topn.max_users = absl::GetFlag(FLAGS_eval_max_users);
    const EvaluationReport report =
        EvaluateModel(trained.train.model,
                      recommender.retrieval ? &*recommender.retrieval : nullptr,
                      recommender.ranking, data.train, data.test, topn);
    std::printf("%s\n", FormatEvaluation(report).c_str());
    metrics = EvaluationToJson(report);
  }
  if (!catalog.empty()) {
    AddGenreAgreement(data.train, catalog, trained.train.model,
                      recommender.retrieval ? &*recommender.retrieval : nullptr,
                      &metrics);
  }
  metrics["train_seconds"] = recommender.seconds;
  metrics["rating_train_seconds"] = trained.train.seconds;
  metrics["retrieval_train_seconds"] = recommender.retrieval_seconds;
  metrics["validation_rmse"] = FiniteOrNull(trained.validation_rmse);
  metrics["final_train_rmse"] = FiniteOrNull(
      trained.train.history.empty() ? NAN
                                    : trained.train.history.back().train_rmse);
  for (auto& [key, value] : metrics.items()) {
    if (value.is_number_float()) value = FiniteOrNull(value.get<double>());
  }

  nlohmann::json params = ParamsToJson(options, trained);
  params["retrieval"] = RetrievalParamsToJson(recommender);
  params["ranking"] = {{"candidates", recommender.ranking.candidates},
                       {"blend_weight", recommender.ranking.blend_weight},
                       {"blend_tuned", !recommender.blend_trials.empty()}};
  const std::string out = absl::GetFlag(FLAGS_out);
  std::string version;
  if (!out.empty()) {
    SnapshotContents contents;
    contents.train = &data.train;
    contents.model = &trained.train.model;
    contents.items = items_path.empty() ? nullptr : &catalog;
    contents.algo = std::string(AlgorithmName(options.algorithm));
    contents.training_params = params;
    contents.metrics = metrics;
    if (recommender.retrieval) {
      contents.retrieval = &*recommender.retrieval;
      contents.retrieval_params = params["retrieval"];
      contents.ranking = recommender.ranking;
    }
    ASSIGN_OR_RETURN(version,
                     PublishSnapshot(out, contents, PublishOptionsFromFlags()));
    std::printf("Published snapshot %s\n",
                (std::filesystem::path(out) / version).c_str());
  }
  const std::string report_json = absl::GetFlag(FLAGS_report_json);
  if (!report_json.empty()) {
    nlohmann::json report = metrics;
    report["params"] = params;
    report["num_users"] = data.train.num_users();
    report["num_items"] = data.train.num_items();
    report["train_ratings"] = data.train.ratings.size();
    report["test_ratings_total"] = data.test.size();
    if (!version.empty()) report["snapshot_version"] = version;
    nlohmann::json history = nlohmann::json::array();
    for (const EpochStats& s : trained.train.history) {
      history.push_back({{"epoch", s.epoch},
                         {"train_rmse", s.train_rmse},
                         {"valid_rmse", FiniteOrNull(s.valid_rmse)},
                         {"seconds", s.seconds}});
    }
    report["history"] = history;
    RETURN_IF_ERROR(WriteJsonFile(report_json, report));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ParseCount(const std::string& flag,
                                   const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("generate: --", flag,
                     " must be a positive whole number, got '", text, "'"));
  }
  return value;
}

absl::Status RunGenerate() {
  GeneratorOptions options;
  options.users = absl::GetFlag(FLAGS_users);
  ASSIGN_OR_RETURN(const int64_t items,
                   ParseCount("items", absl::GetFlag(FLAGS_items).empty()
                                           ? "1000"
                                           : absl::GetFlag(FLAGS_items)));
  options.items = static_cast<int32_t>(items);
  ASSIGN_OR_RETURN(options.ratings,
                   ParseCount("ratings", absl::GetFlag(FLAGS_ratings).empty()
                                             ? "200000"
                                             : absl::GetFlag(FLAGS_ratings)));
  options.noise = absl::GetFlag(FLAGS_noise);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.latent_factors = absl::GetFlag(FLAGS_latent_factors);
  options.genres = absl::GetFlag(FLAGS_genres);
  options.exposure_taste = absl::GetFlag(FLAGS_exposure_taste);
  options.threads = absl::GetFlag(FLAGS_threads);
  options.out = absl::GetFlag(FLAGS_out);
  if (options.out.empty()) {
    return absl::InvalidArgumentError("generate: --out FILE is required");
  }
  options.progress = [](int64_t done, int64_t total) {
    if (isatty(STDERR_FILENO)) {
      std::fprintf(stderr, "\rgenerating %3d%%",
                   static_cast<int>(100.0 * done / total));
      if (done >= total) std::fprintf(stderr, "\n");
    }
  };
  ASSIGN_OR_RETURN(GeneratorReport report, GenerateSyntheticData(options));
  std::printf(
      "Wrote %lld ratings to %s, items to %s, truth to %s in %.1fs; "
      "noise floor RMSE %.4f\n",
      static_cast<long long>(report.ratings_written),
      report.ratings_path.c_str(), report.movies_path.c_str(),
      report.truth_path.c_str(), report.seconds, report.noise_floor_rmse);
  return absl::OkStatus();
}

absl::Status RunImport() {
  ImportOptions options;
  options.user_factors_path = absl::GetFlag(FLAGS_user_factors);
  options.item_factors_path = absl::GetFlag(FLAGS_item_factors);
  if (const absl::optional<float> mean = absl::GetFlag(FLAGS_global_mean)) {
    options.global_mean = *mean;
  }
  options.user_embeddings_path = absl::GetFlag(FLAGS_user_embeddings);
  options.item_embeddings_path = absl::GetFlag(FLAGS_item_embeddings);
  const std::string ratings = absl::GetFlag(FLAGS_ratings);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (options.user_factors_path.empty() || options.item_factors_path.empty() ||
      ratings.empty() || out.empty()) {
    return absl::InvalidArgumentError(
        "import needs --user_factors FILE --item_factors FILE --ratings FILE "
        "--out DIR");
  }
  ASSIGN_OR_RETURN(RatingReadOptions read_options, ReadOptionsFromFlags());
  Dataset all;
  RETURN_IF_ERROR(ReadRatingFile(ratings, read_options, &all).status());
  ASSIGN_OR_RETURN(ImportResult imported, ImportFactors(options, all));
  const ImportReport& r = imported.report;
  std::printf(
      "Imported %d users and %d items with %d factors; %lld of %lld "
      "ratings matched (%lld without user factors, %lld without item "
      "factors); global mean %.4f\n",
      imported.train.num_users(), imported.train.num_items(), r.factors,
      static_cast<long long>(r.ratings_used),
      static_cast<long long>(r.ratings_read),
      static_cast<long long>(r.ratings_without_user_factors),
      static_cast<long long>(r.ratings_without_item_factors), r.global_mean);
  ItemCatalog catalog;
  const std::string items_path = absl::GetFlag(FLAGS_items);
  if (!items_path.empty()) {
    ItemReadOptions item_options;
    ASSIGN_OR_RETURN(item_options.format,
                     ParseItemFormat(absl::GetFlag(FLAGS_items_format)));
    RETURN_IF_ERROR(ReadItems(items_path, item_options, &catalog).status());
  }
  SnapshotContents contents;
  contents.train = &imported.train;
  contents.model = &imported.model;
  contents.items = items_path.empty() ? nullptr : &catalog;
  contents.algo = "import";
  contents.training_params = {{"user_factors", options.user_factors_path},
                              {"item_factors", options.item_factors_path}};
  if (imported.retrieval) {
    std::printf(
        "Imported %d-dimensional retrieval embeddings (%lld user and "
        "%lld item rows without factors ignored)\n",
        r.retrieval_factors, static_cast<long long>(r.user_embeddings_ignored),
        static_cast<long long>(r.item_embeddings_ignored));
    contents.retrieval = &*imported.retrieval;
    contents.retrieval_params = {
        {"user_embeddings", options.user_embeddings_path},
        {"item_embeddings", options.item_embeddings_path}};
    // Imported embeddings come without a validation run: the pool default,
    // and the retrieval order within it (the choice on every data set
    // measured so far), unless given.
    contents.ranking.candidates = absl::GetFlag(FLAGS_candidates).value_or(200);
    contents.ranking.blend_weight =
        absl::GetFlag(FLAGS_blend_weight).value_or(1.0f);
  }
  ASSIGN_OR_RETURN(std::string version,
                   PublishSnapshot(out, contents, PublishOptionsFromFlags()));
  std::printf("Published snapshot %s\n",
              (std::filesystem::path(out) / version).c_str());
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
  absl::Status status;
  if (command == "train") {
    status = recserve::RunTrain();
  } else if (command == "generate") {
    status = recserve::RunGenerate();
  } else if (command == "import") {
    status = recserve::RunImport();
  } else {
    std::fprintf(stderr,
                 "recserve-train: unknown command '%s' (train, generate or "
                 "import)\n",
                 command.c_str());
    return 2;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "recserve-train: %s\n",
                 std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
