#include "core/pipeline/training_pipeline.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/data/label_index.h"
#include "core/data/rating_dedup.h"
#include "core/data/user_sample.h"
#include "core/eval/genre_agreement.h"
#include "core/pipeline/snapshot_publishing.h"
#include "core/pipeline/training_record.h"

namespace recserve {
namespace {

// A held-out rating of a user or an item without training ratings, which
// the split's test set holds only as kUnknownIndex.
struct NewIdRating {
  std::string user;
  std::string item;
  float value = 0;
  int64_t timestamp = 0;
};

struct LoadedData {
  TrainTest split;
  // Together with split, every input rating: kept apart because the split
  // cannot index it.
  std::vector<NewIdRating> held_out_new_ids;
  // A training and a test file may both hold a (user, item) pair.
  bool separate_files = false;
  bool evaluate = true;
  // What the files held (both alike), and for events every type they held
  // with its weight.
  Feedback feedback = Feedback::kExplicit;
  EventWeights events;
};

// Splits `all` as `split` says and keeps what the split cannot index.
LoadedData FromSplit(const Dataset& all, TrainTest split) {
  LoadedData data;
  data.split = std::move(split);
  const std::vector<int32_t> users =
      MapIndices(all.users, data.split.train.users);
  const std::vector<int32_t> items =
      MapIndices(all.items, data.split.train.items);
  for (const Rating& r : all.ratings) {
    if (users[r.user] != kUnknownIndex && items[r.item] != kUnknownIndex) {
      continue;
    }
    data.held_out_new_ids.push_back(
        {all.users.Id(r.user), all.items.Id(r.item), r.value, r.timestamp});
  }
  return data;
}

// What to do with held-out ratings of users or items the training set
// lacks: add their ids (for models trained on the result), or leave them
// out (for models that cannot know them).
enum class NewIds { kAdd, kLeaveOut };

// Every input rating in the training set's id space, built from (and
// emptying) `data`: the training ratings, the held-out ones of known users
// and items, and as `new_ids` says the rest.
Dataset EveryRating(LoadedData* data, NewIds new_ids) {
  Dataset out = std::move(data->split.train);
  for (const Rating& r : data->split.test) {
    if (r.user != kUnknownIndex && r.item != kUnknownIndex) {
      out.ratings.push_back(r);
    }
  }
  if (new_ids == NewIds::kAdd) {
    for (const NewIdRating& r : data->held_out_new_ids) {
      out.ratings.push_back({out.users.GetOrAdd(r.user),
                             out.items.GetOrAdd(r.item), r.value, r.timestamp});
    }
  }
  if (data->separate_files) {
    DropDuplicateRatings(&out.ratings, 0, out.num_users(), out.num_items());
  }
  *data = LoadedData();
  return out;
}

// What one file's read adds to what the run knows of its data.
struct ReadSummary {
  std::optional<Feedback> feedback;
  EventWeights events;
};

absl::Status ReadRatingFile(const std::string& path, const RatingSource& source,
                            const PipelineObserver& observer, Dataset* into,
                            ReadSummary* summary) {
  ASSIGN_OR_RETURN(const RatingReadReport report,
                   ReadRatings(path, source.read, into));
  if (observer.on_ratings_read) observer.on_ratings_read(path, report);
  if (summary->feedback.has_value() && *summary->feedback != report.feedback) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, " holds ", FeedbackName(report.feedback),
        " feedback, the other file ", FeedbackName(*summary->feedback),
        ": give both files the same columns"));
  }
  summary->feedback = report.feedback;
  // The snapshot names every type the flags or the data named, so that the
  // server can tell a request's unknown type from a known one.
  const EventWeights& named = source.read.events;
  for (const auto& [event, weight] : named.weights) {
    summary->events.weights[event] = weight;
  }
  for (const std::string& event : named.negative) {
    summary->events.weights[event] = named.WeightOf(event);
    summary->events.negative.insert(event);
  }
  for (const auto& [event, lines] : report.event_lines) {
    summary->events.weights[event] = source.read.events.WeightOf(event);
    if (source.read.events.IsNegative(event)) {
      summary->events.negative.insert(event);
    }
  }
  return absl::OkStatus();
}

void Record(const ReadSummary& summary, LoadedData* data) {
  data->feedback = summary.feedback.value_or(Feedback::kExplicit);
  data->events = summary.events;
}

absl::StatusOr<LoadedData> LoadRatings(const RatingSource& source,
                                       const PipelineObserver& observer) {
  Dataset all;  // every input rating, in one id space
  ReadSummary read;
  if (!source.train_path.empty() || !source.test_path.empty()) {
    if (source.train_path.empty() || source.test_path.empty() ||
        !source.ratings_path.empty()) {
      return absl::InvalidArgumentError(
          "give either one ratings file (split in two) or both a training "
          "and a test file");
    }
    RETURN_IF_ERROR(
        ReadRatingFile(source.train_path, source, observer, &all, &read));
    const size_t num_train = all.ratings.size();
    RETURN_IF_ERROR(
        ReadRatingFile(source.test_path, source, observer, &all, &read));
    LoadedData data = FromSplit(all, MakeTrainTest(all, num_train));
    data.separate_files = true;
    Record(read, &data);
    return data;
  }
  if (source.ratings_path.empty()) {
    return absl::InvalidArgumentError(
        "no ratings: give a ratings file, or a training and a test file");
  }
  RETURN_IF_ERROR(
      ReadRatingFile(source.ratings_path, source, observer, &all, &read));
  LoadedData data;
  if (!source.split) {
    data.evaluate = false;
    data.split = MakeTrainTest(all, all.ratings.size());
  } else {
    ASSIGN_OR_RETURN(TrainTest split,
                     SplitDataset(all, *source.split, source.seed));
    data = FromSplit(all, std::move(split));
  }
  Record(read, &data);
  return data;
}

// The settings validation chose, fixed, so that training again on more
// ratings makes the same kind of model without choosing anew.
TwoStageTrainingOptions ChosenSettings(const TwoStageTrainingOptions& options,
                                       const TwoStageTrainingResult& trained) {
  TwoStageTrainingOptions fixed = options;
  RatingTrainingOptions& rating = fixed.rating;
  rating.algorithm = trained.rating.algorithm;
  rating.tune_reg = false;
  rating.factor_grid.clear();
  rating.validation_fraction = 0;
  rating.als.factors = rating.sgd.factors = trained.rating.factors;
  rating.als.reg = rating.sgd.reg = trained.rating.reg;
  // An epoch count from a warm start would undertrain a model trained from
  // scratch (the fold-in and cold-item evaluations' models): those stop
  // early as the evaluated model did. A refit from the evaluated models
  // runs TrainTwoStage's warm iterations either way.
  if (trained.rating.warm_started) {
    rating.validation_fraction = options.rating.validation_fraction;
  } else if (trained.rating.chosen_epochs > 0) {
    rating.als.max_iterations = trained.rating.chosen_epochs;
    rating.sgd.max_epochs = trained.rating.chosen_epochs;
  }
  fixed.train_retrieval = trained.retrieval.has_value();
  fixed.retrieval = trained.retrieval_options;
  fixed.retrieval_reg_grid = {trained.retrieval_options.reg};
  fixed.tune_retrieval = false;
  fixed.search_recency = false;
  fixed.tune_blend = false;
  fixed.search_item_item = false;
  fixed.item_item.reset();
  if (trained.item_item) fixed.item_item = trained.item_item->params;
  fixed.ranking = trained.ranking;
  return fixed;
}

// ChosenSettings without the item-item model, for the evaluation that
// measures the embeddings (new items, which the item-item model cannot
// score): training it would be wasted.
TwoStageTrainingOptions EmbeddingSettings(
    const TwoStageTrainingOptions& options,
    const TwoStageTrainingResult& trained) {
  TwoStageTrainingOptions settings = ChosenSettings(options, trained);
  settings.item_item.reset();
  return settings;
}

DataSummary Summarize(const Dataset& train, size_t test_ratings,
                      const ItemCatalog& catalog, Feedback feedback) {
  DataSummary summary;
  summary.feedback = feedback;
  summary.users = train.num_users();
  summary.items = train.num_items();
  summary.train_ratings = static_cast<int64_t>(train.ratings.size());
  summary.test_ratings = static_cast<int64_t>(test_ratings);
  if (feedback == Feedback::kExplicit) {
    summary.scale = InferRatingScale(train.ratings);
  } else {
    for (const Rating& r : train.ratings) summary.negative += r.value < 0;
  }
  summary.catalog_items = static_cast<int64_t>(catalog.size());
  return summary;
}

// How often an item's 10 nearest neighbours (cosine) share a genre, for the
// retrieval embeddings (what SimilarItems serves) and the rating factors,
// beside random pairs; nothing without genres.
void AddGenreAgreement(const Dataset& known, const ItemCatalog& catalog,
                       const MfModel* model, const RetrievalModel* retrieval,
                       const TopNOptions& evaluation, nlohmann::json* metrics) {
  std::vector<std::vector<std::string>> genres(known.num_items());
  for (int32_t i = 0; i < known.num_items(); ++i) {
    auto it = catalog.find(known.items.Id(i));
    if (it != catalog.end()) genres[i] = it->second.genres;
  }
  const std::pair<const char*, const FactorMatrix*> spaces[] = {
      {"retrieval", retrieval ? &retrieval->item_factors : nullptr},
      {"rating_factors", model ? &model->item_factors : nullptr}};
  for (const auto& [name, vectors] : spaces) {
    if (vectors == nullptr) continue;
    const std::optional<GenreAgreement> agreement = MeasureGenreAgreement(
        *vectors, genres, 10, 2000, evaluation.seed, evaluation.threads);
    if (!agreement) continue;
    (*metrics)[absl::StrCat("similar_items/genre_share@10/", name)] =
        agreement->neighbours;
    (*metrics)["similar_items/genre_share/random_pairs"] = agreement->random;
  }
}

// The cold-item figures among the manifest's metrics.
void AddColdItemMetrics(const ColdItemEvaluation& cold,
                        nlohmann::json* metrics) {
  const std::string k = absl::StrCat("@", cold.k);
  const std::pair<const char*, const ColdItemRanking*> rankings[] = {
      {"mapped", &cold.mapped},
      {"random", &cold.random},
      {"label_popularity", &cold.label_popularity},
      {"trained", &cold.trained}};
  for (const auto& [name, ranking] : rankings) {
    (*metrics)[absl::StrCat("cold_items/hit_rate", k, "/", name)] =
        ranking->hit_rate;
    (*metrics)[absl::StrCat("cold_items/ndcg", k, "/", name)] = ranking->ndcg;
  }
  if (cold.label_agreement.has_value()) {
    (*metrics)[absl::StrCat("cold_items/label_share", k, "/mapped")] =
        cold.label_agreement->neighbours;
    (*metrics)["cold_items/label_share/random_pairs"] =
        cold.label_agreement->random;
  }
}

nlohmann::json RankingJson(const ColdItemRanking& ranking) {
  return {{"hit_rate", ranking.hit_rate}, {"ndcg", ranking.ndcg}};
}

// The report's "cold_items": the evaluation and the published maps.
nlohmann::json ColdItemsJson(const TrainingRun& run) {
  nlohmann::json json = nlohmann::json::object();
  if (!run.cold_evaluation_skipped.empty()) {
    json["evaluation_skipped"] = run.cold_evaluation_skipped;
  }
  if (!run.attributes_skipped.empty()) {
    json["published_skipped"] = run.attributes_skipped;
  }
  if (run.cold_evaluation.has_value()) {
    const ColdItemEvaluation& cold = *run.cold_evaluation;
    nlohmann::json evaluation = {
        {"k", cold.k},
        {"items", cold.items},
        {"users", cold.users},
        {"mapped", RankingJson(cold.mapped)},
        {"random", RankingJson(cold.random)},
        {"label_popularity", RankingJson(cold.label_popularity)},
        {"trained", RankingJson(cold.trained)},
        {"rating_reg", cold.rating_reg},
        {"retrieval_reg", cold.retrieval_reg},
        {"retrieval_holdout_mse", cold.retrieval_holdout_mse},
        {"retrieval_mean_mse", cold.retrieval_mean_mse},
        {"rating_holdout_mse", cold.rating_holdout_mse},
        {"rating_mean_mse", cold.rating_mean_mse},
        {"seconds", cold.seconds}};
    if (cold.label_agreement.has_value()) {
      evaluation["label_agreement"] = {
          {"neighbours", cold.label_agreement->neighbours},
          {"random_pairs", cold.label_agreement->random},
          {"items", cold.label_agreement->items}};
    }
    json["evaluation"] = std::move(evaluation);
  }
  if (run.attributes.has_value()) {
    const ItemAttributeFit& fit = *run.attributes;
    auto map_json = [](const AttributeMapFit& map) {
      nlohmann::json trials = nlohmann::json::array();
      for (const AttributeMapTrial& t : map.trials) {
        trials.push_back({{"reg", t.reg}, {"holdout_mse", t.holdout_mse}});
      }
      return nlohmann::json{{"reg", map.map.reg},
                            {"holdout_mse_of_mean", map.holdout_mse_of_mean},
                            {"holdout_rows", map.holdout_rows},
                            {"trials", std::move(trials)}};
    };
    json["published"] = {{"attributes", fit.model.spec.size()},
                         {"learned_on_items", fit.items},
                         {"cold_items", run.cold_items},
                         {"retrieval_map", map_json(fit.retrieval)}};
    if (fit.rating.has_value()) {
      json["published"]["rating_map"] = map_json(*fit.rating);
    }
  }
  return json;
}

absl::Status CheckOptions(const TrainingPipelineOptions& options) {
  if (!(options.fold_in_users >= 0 && options.fold_in_users < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fold_in_users must be in [0, 1), got ", options.fold_in_users));
  }
  if (!options.data.item_tags_path.empty() &&
      (options.data.items_path.empty() || !options.cold.enabled)) {
    return absl::InvalidArgumentError(
        "item tags are attributes of new items: they need item metadata "
        "(--items) and cold items on");
  }
  if (!(options.cold.evaluation_items >= 0 &&
        options.cold.evaluation_items <= 0.5)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the cold-item evaluation's share of items must be in "
                     "[0, 0.5], got ",
                     options.cold.evaluation_items));
  }
  if (!options.data.item_labels_path.empty() &&
      !options.training.train_retrieval) {
    return absl::InvalidArgumentError(
        "item labels need retrieval embeddings: the snapshots that carry "
        "labels are those the server can fold users into");
  }
  return absl::OkStatus();
}

}  // namespace

void SetSeedAndThreads(uint64_t seed, int32_t threads,
                       TrainingPipelineOptions* options) {
  options->data.seed = seed;
  SetSeedAndThreads(seed, threads, &options->training.rating);
  options->training.retrieval.seed = seed;
  options->training.retrieval.threads = threads;
  options->training.validation.seed = options->evaluation.seed = seed;
  options->training.validation.threads = options->evaluation.threads = threads;
}

absl::StatusOr<TrainingRun> RunTrainingPipeline(
    const TrainingPipelineOptions& options, const PipelineObserver& observer) {
  const auto start = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(CheckOptions(options));
  ASSIGN_OR_RETURN(LoadedData data, LoadRatings(options.data, observer));
  ItemCatalog catalog;
  if (!options.data.items_path.empty()) {
    ASSIGN_OR_RETURN(
        const ItemReadReport items,
        ReadItems(options.data.items_path, options.data.items, &catalog));
    if (observer.on_items_read) {
      observer.on_items_read(options.data.items_path, items);
    }
  }
  // Read before training, so that a bad file fails the run early.
  std::optional<ItemLabelMap> labels;
  if (!options.data.item_labels_path.empty()) {
    ASSIGN_OR_RETURN(
        const ItemLabelReadReport read,
        ReadItemLabels(options.data.item_labels_path, options.data.item_labels,
                       &labels.emplace()));
    if (observer.on_item_labels_read) {
      observer.on_item_labels_read(options.data.item_labels_path, read);
    }
  }
  LabelMap user_labels;
  if (!options.data.user_labels_path.empty()) {
    ASSIGN_OR_RETURN(const ItemLabelReadReport read,
                     ReadItemLabels(options.data.user_labels_path,
                                    options.data.user_labels, &user_labels));
    if (observer.on_user_labels_read) {
      observer.on_user_labels_read(options.data.user_labels_path, read);
    }
  }
  ItemTagMap tags;
  if (!options.data.item_tags_path.empty()) {
    ASSIGN_OR_RETURN(const ItemTagReadReport read,
                     ReadItemTags(options.data.item_tags_path,
                                  options.data.item_tags, &tags));
    if (observer.on_item_tags_read) {
      observer.on_item_tags_read(options.data.item_tags_path, read);
    }
  }
  // Attributes come from the metadata as read: labels and tags of items
  // that have no interactions are what places them.
  const ItemAttributeSources sources{
      .items = &catalog,
      .labels = labels.has_value() ? &*labels : nullptr,
      .tags = options.data.item_tags_path.empty() ? nullptr : &tags};
  const bool attributes_wanted = options.cold.enabled && !catalog.empty();
  // Events have no ratings to predict: the retrieval model ranks alone, and
  // every positive held-out interaction is relevant.
  const Feedback feedback = data.feedback;
  const EventWeights events = data.events;  // `data` is emptied by the refit
  const bool implicit = feedback == Feedback::kImplicit;
  TwoStageTrainingOptions training = options.training;
  // The snapshots that carry an ordinal output (format 8) are those with
  // retrieval embeddings; without them the rating model keeps the Gaussian
  // output, so that what is evaluated is what is served.
  if (!training.train_retrieval) training.rating.bpmf.ordinal_output = false;
  // The rating model's user and item features: every model trained from
  // `training` (validation splits, the evaluations' models, the refit)
  // finds them by id. The items' are their genres: labels of the labels
  // file are for filters (in_stock, region:eu) and change between runs.
  if (LabelIndex item_labels = LabelIndex::FromGenres(catalog);
      !item_labels.empty()) {
    training.rating.item_labels =
        std::make_shared<const LabelIndex>(std::move(item_labels));
  }
  if (!options.data.user_labels_path.empty()) {
    if (implicit) {
      return absl::InvalidArgumentError(
          "user labels are features of the rating model, which events do "
          "not train");
    }
    training.rating.user_labels =
        std::make_shared<const LabelIndex>(LabelIndex::FromLabels(user_labels));
  }
  TopNOptions evaluation = options.evaluation;
  TrainingRun run;
  if (implicit) {
    if (!training.train_retrieval) {
      return absl::InvalidArgumentError(
          "implicit feedback (events) needs the retrieval model: it is the "
          "only model events train");
    }
    training.train_rating = false;
    evaluation.relevance_threshold = 0.0f;
  }
  run.data =
      Summarize(data.split.train, data.split.test.size(), catalog, feedback);
  if (observer.on_data) observer.on_data(run.data);

  ASSIGN_OR_RETURN(run.trained, TrainTwoStage(data.split.train, training,
                                              observer.training));
  if (observer.on_trained) observer.on_trained(run.trained);
  const RetrievalModel* evaluated_retrieval =
      run.trained.retrieval ? &*run.trained.retrieval : nullptr;
  if (data.evaluate && !data.split.test.empty()) {
    run.evaluation = EvaluateModel(
        implicit ? nullptr : &run.trained.rating.train.model,
        evaluated_retrieval, run.trained.ranking, data.split.train,
        data.split.test, evaluation,
        run.trained.item_item ? &*run.trained.item_item : nullptr);
    if (observer.on_evaluated) observer.on_evaluated(*run.evaluation);
    run.metrics = EvaluationToJson(*run.evaluation);
  }
  // Before the refit, which takes the training ratings apart.
  if (data.evaluate && options.fold_in_users > 0 &&
      run.trained.retrieval.has_value()) {
    const FoldInSplit split =
        SplitFoldInUsers(SampleUsersOf(data.split.train, options.fold_in_sample,
                                       options.data.seed + 11),
                         options.fold_in_users, options.data.seed);
    if (!split.users.empty()) {
      if (observer.on_fold_in_start) observer.on_fold_in_start(split);
      ASSIGN_OR_RETURN(
          run.fold_in,
          EvaluateFoldIn(split, ChosenSettings(training, run.trained),
                         evaluation));
      if (observer.on_fold_in) observer.on_fold_in(*run.fold_in);
      AddFoldInMetrics(*run.fold_in, &run.metrics);
    }
  }
  if (data.evaluate && attributes_wanted && options.cold.evaluation_items > 0 &&
      run.trained.retrieval.has_value()) {
    if (observer.on_cold_evaluation_start) observer.on_cold_evaluation_start();
    // A measurement, not a product: data it cannot measure (too few items,
    // no metadata that matches) skip it with the reason, they do not fail
    // a run that trains fine.
    absl::StatusOr<ColdItemEvaluation> cold = EvaluateColdItems(
        data.split.train, run.trained, EmbeddingSettings(training, run.trained),
        sources, options.cold, evaluation);
    if (cold.ok()) {
      run.cold_evaluation = *std::move(cold);
      if (observer.on_cold_evaluated) {
        observer.on_cold_evaluated(*run.cold_evaluation);
      }
      AddColdItemMetrics(*run.cold_evaluation, &run.metrics);
    } else {
      run.cold_evaluation_skipped = std::string(cold.status().message());
      if (observer.on_cold_items_skipped) {
        observer.on_cold_items_skipped("the cold-item evaluation",
                                       cold.status());
      }
    }
  }

  // What is published: the models, and the ratings they know (seen lists,
  // popularity) — every input rating.
  Dataset* known = &data.split.train;
  MfModel* model = implicit ? nullptr : &run.trained.rating.train.model;
  RetrievalModel* retrieval =
      run.trained.retrieval ? &*run.trained.retrieval : nullptr;
  Dataset everything;
  std::optional<TwoStageTrainingResult> refit;
  const bool publishing = !options.output.root.empty();
  // With nothing held out, the models have seen every rating already.
  const bool held_out = data.evaluate && (!data.split.test.empty() ||
                                          !data.held_out_new_ids.empty());
  if (held_out && publishing && options.published == PublishedModels::kRefit) {
    everything = EveryRating(&data, NewIds::kAdd);
    if (observer.on_refit) {
      observer.on_refit(Summarize(everything, 0, catalog, feedback));
    }
    const auto refit_start = std::chrono::steady_clock::now();
    // From the evaluated models: they have converged on all but the
    // held-out ratings, so a few iterations take them to a fit of every
    // rating (two_stage_trainer.h).
    ASSIGN_OR_RETURN(
        refit, TrainTwoStage(everything, ChosenSettings(training, run.trained),
                             observer.training, &run.trained));
    run.refit_seconds = SecondsSince(refit_start);
    run.refitted = true;
    known = &everything;
    if (!implicit) model = &refit->rating.train.model;
    retrieval = refit->retrieval ? &*refit->retrieval : nullptr;
  } else if (held_out && publishing) {
    // The evaluated models know only the training set's users and items.
    everything = EveryRating(&data, NewIds::kLeaveOut);
    known = &everything;
  }
  if (!catalog.empty()) {
    AddGenreAgreement(*known, catalog, model, retrieval, evaluation,
                      &run.metrics);
  }
  // After the genre agreement, which measures the items with interactions.
  // The published models get the cold items' rows: copies, so that
  // run.trained stays the models as evaluated.
  std::optional<MfModel> published_model;
  std::optional<RetrievalModel> published_retrieval;
  if (publishing && attributes_wanted && retrieval != nullptr) {
    absl::StatusOr<ItemAttributeFit> fit =
        FitItemAttributes(*known, model, *retrieval, sources, options.cold);
    if (fit.ok()) {
      run.attributes = *std::move(fit);
      if (model != nullptr) model = &published_model.emplace(*model);
      retrieval = &published_retrieval.emplace(*retrieval);
      ASSIGN_OR_RETURN(run.cold_items,
                       AppendColdItems(run.attributes->model, sources, known,
                                       model, retrieval));
      if (observer.on_attributes) {
        observer.on_attributes(*run.attributes, run.cold_items);
      }
    } else {
      // Metadata that cannot place items (e.g. ids that match none of the
      // data's) leaves the snapshot without maps, as before maps existed.
      run.attributes_skipped = std::string(fit.status().message());
      if (observer.on_cold_items_skipped) {
        observer.on_cold_items_skipped("new items", fit.status());
      }
    }
  }
  if (!options.data.user_labels_path.empty()) {
    UserLabelSummary& summary = run.user_labels.emplace();
    absl::flat_hash_set<absl::string_view> distinct;
    for (const auto& [user, labels_of_user] : user_labels) {
      if (known->users.Find(user) == kUnknownIndex) {
        ++summary.unknown_users;
        continue;
      }
      ++summary.users;
      distinct.insert(labels_of_user.begin(), labels_of_user.end());
    }
    summary.distinct_labels = static_cast<int64_t>(distinct.size());
  }
  if (labels.has_value()) {
    ItemLabelSummary& summary = run.labels.emplace();
    summary.unknown_items = KeepLabelsOf(known->items, &*labels);
    summary.items = static_cast<int64_t>(labels->size());
    absl::flat_hash_set<absl::string_view> distinct;
    for (const auto& [item, item_labels] : *labels) {
      distinct.insert(item_labels.begin(), item_labels.end());
    }
    summary.distinct_labels = static_cast<int64_t>(distinct.size());
  }

  const RatingTrainingResult& rating = run.trained.rating;
  run.metrics["train_seconds"] = run.trained.seconds;
  run.metrics["retrieval_train_seconds"] = run.trained.retrieval_seconds;
  run.metrics["refit_seconds"] = run.refit_seconds;
  if (!implicit) {
    run.metrics["rating_train_seconds"] = rating.train.seconds;
    run.metrics["validation_rmse"] = FiniteOrNull(rating.validation_rmse);
    run.metrics["final_train_rmse"] = FiniteOrNull(
        rating.train.history.empty() ? NAN
                                     : rating.train.history.back().train_rmse);
  }
  NullNonFinite(&run.metrics);
  run.params = TrainingParamsJson(training, run.trained);
  run.params["feedback"] = std::string(FeedbackName(feedback));
  if (implicit) {
    run.params["events"] = {{"weights", events.weights},
                            {"negative", events.negative}};
  }
  run.params["published"] = !publishing    ? "none"
                            : run.refitted ? "refit"
                            : held_out     ? "evaluated"
                                           : "all_ratings";
  run.params["published_ratings"] = known->ratings.size();
  if (model != nullptr) {
    // The published model's learned output (null when it has none: another
    // algorithm, --bpmf_ordinal=false, or ratings off the scale's values).
    run.params["ordinal_output"] =
        model->ordinal.empty()
            ? nlohmann::json()
            : nlohmann::json{{"cutpoints", model->ordinal.cutpoints},
                             {"stddev", model->ordinal.stddev}};
  }

  if (publishing) {
    SnapshotContents contents;
    contents.train = known;
    contents.model = model;
    contents.feedback = feedback;
    contents.events = implicit ? &events : nullptr;
    contents.items = options.data.items_path.empty() ? nullptr : &catalog;
    contents.algo =
        implicit ? "implicit_als"
                 : std::string(AlgorithmName(run.trained.rating.algorithm));
    contents.training_params = run.params;
    contents.metrics = run.metrics;
    const FoldInParams fold_in =
        FoldInParamsOf(refit.has_value() ? *refit : run.trained);
    if (retrieval != nullptr) {
      contents.retrieval = retrieval;
      contents.retrieval_params = run.params["retrieval"];
      contents.ranking = run.trained.ranking;
      contents.fold_in = &fold_in;
      const std::optional<ItemItemModel>& item_item =
          refit.has_value() ? refit->item_item : run.trained.item_item;
      if (item_item.has_value()) contents.item_item = &*item_item;
      if (labels.has_value()) contents.labels = &*labels;
      if (run.attributes.has_value()) {
        contents.attributes = &run.attributes->model;
        contents.cold_items = run.cold_items;
      }
    }
    ASSIGN_OR_RETURN(const PublishedVersion published,
                     PublishWithIndexes(contents, options.output));
    run.version = published.version;
    run.version_dir = published.dir;
    run.index_seconds = published.index_seconds;
  }
  run.seconds = SecondsSince(start);
  if (observer.on_published && !run.version.empty()) {
    observer.on_published(run);
  }
  return run;
}

nlohmann::json TrainingReportJson(const TrainingRun& run) {
  nlohmann::json report = run.metrics;
  report["params"] = run.params;
  report["published"] = run.params.value("published", "none");
  report["num_users"] = run.data.users;
  report["num_items"] = run.data.items;
  report["train_ratings"] = run.data.train_ratings;
  report["test_ratings_total"] = run.data.test_ratings;
  if (!run.version.empty()) report["snapshot_version"] = run.version;
  nlohmann::json history = nlohmann::json::array();
  for (const EpochStats& s : run.trained.rating.train.history) {
    history.push_back({{"epoch", s.epoch},
                       {"train_rmse", s.train_rmse},
                       {"valid_rmse", FiniteOrNull(s.valid_rmse)},
                       {"seconds", s.seconds}});
  }
  report["history"] = history;
  if (run.fold_in.has_value()) report["fold_in"] = FoldInToJson(*run.fold_in);
  if (run.cold_evaluation.has_value() || run.attributes.has_value() ||
      !run.cold_evaluation_skipped.empty() || !run.attributes_skipped.empty()) {
    report["cold_items"] = ColdItemsJson(run);
  }
  if (run.user_labels.has_value()) {
    report["user_labels"] = {
        {"users", run.user_labels->users},
        {"distinct_labels", run.user_labels->distinct_labels},
        {"unknown_users", run.user_labels->unknown_users}};
  }
  if (run.labels.has_value()) {
    report["item_labels"] = {{"items", run.labels->items},
                             {"distinct_labels", run.labels->distinct_labels},
                             {"unknown_items", run.labels->unknown_items}};
  }
  return report;
}

}  // namespace recserve
