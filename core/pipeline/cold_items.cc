#include "core/pipeline/cold_items.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/data/sparse_ratings.h"
#include "core/model/two_stage_scorer.h"

namespace recserve {
namespace {

// Digit ids sort numerically this way; others by bytes within a length.
bool IdLess(const std::string& a, const std::string& b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

std::vector<int32_t> InteractionCounts(const Dataset& data) {
  std::vector<int32_t> counts(data.num_items(), 0);
  for (const Rating& r : data.ratings) {
    if (r.item >= 0 && r.item < data.num_items()) ++counts[r.item];
  }
  return counts;
}

// The rating model's map target of an item: its factors, then its bias.
FactorMatrix RatingTargets(const MfModel& model,
                           const std::vector<int32_t>& items) {
  FactorMatrix targets(items.size(), model.factors() + 1);
  for (size_t r = 0; r < items.size(); ++r) {
    targets.row(r).head(model.factors()) = model.item_factors.row(items[r]);
    targets(r, model.factors()) = model.item_bias[items[r]];
  }
  return targets;
}

// Sets item `item`'s rows of `model` (may be null) and `retrieval` to the
// maps' outputs for `row`.
void SetMappedRows(const ItemAttributeModel& attributes,
                   const AttributeRow& row, int32_t item, MfModel* model,
                   RetrievalModel* retrieval) {
  if (model != nullptr && attributes.rating.has_value()) {
    std::vector<float> out(attributes.rating->width());
    attributes.rating->Apply(row, absl::MakeSpan(out));
    const int32_t k = model->factors();
    for (int32_t f = 0; f < k; ++f) model->item_factors(item, f) = out[f];
    model->item_bias[item] = out[k];
  }
  attributes.retrieval.Apply(
      row, absl::MakeSpan(retrieval->item_factors.row(item).data(),
                          retrieval->item_factors.cols()));
}

}  // namespace

std::vector<std::vector<std::string>> ItemLabelsOf(
    const IdMap& items, const ItemAttributeSources& sources) {
  std::vector<std::vector<std::string>> labels(items.size());
  for (int32_t i = 0; i < items.size(); ++i) {
    if (sources.items != nullptr) {
      auto it = sources.items->find(items.Id(i));
      if (it != sources.items->end()) labels[i] = it->second.genres;
    }
    if (sources.labels != nullptr) {
      auto it = sources.labels->find(items.Id(i));
      if (it != sources.labels->end()) {
        labels[i].insert(labels[i].end(), it->second.begin(), it->second.end());
      }
    }
  }
  return labels;
}

absl::StatusOr<ItemAttributeFit> FitItemAttributes(
    const Dataset& data, const MfModel* model, const RetrievalModel& retrieval,
    const ItemAttributeSources& sources, const ColdItemOptions& options) {
  const std::vector<int32_t> counts = InteractionCounts(data);
  std::vector<int32_t> items;
  std::vector<std::string> ids;
  for (int32_t i = 0; i < data.num_items(); ++i) {
    if (counts[i] == 0) continue;
    items.push_back(i);
    ids.push_back(data.items.Id(i));
  }
  ItemAttributeFit fit;
  fit.items = static_cast<int32_t>(items.size());
  fit.model.spec = BuildAttributeSpec(ids, sources, options.attributes);
  AttributeMatrix x;
  x.num_attributes = fit.model.spec.size();
  int32_t with_attributes = 0;
  for (const std::string& id : ids) {
    const AttributeRow row = Featurize(fit.model.spec, id, sources);
    with_attributes += !row.index.empty();
    x.Append(row);
  }
  if (with_attributes < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "item attributes: only ", with_attributes,
        " of the items with interactions have metadata (genres, year, title "
        "words, labels or tags); at least 2 are needed to learn the map"));
  }
  FactorMatrix retrieval_targets(items.size(), retrieval.item_factors.cols());
  for (size_t r = 0; r < items.size(); ++r) {
    retrieval_targets.row(r) = retrieval.item_factors.row(items[r]);
  }
  // An item trained on few interactions has a vector that is mostly its
  // prior: weigh each item by log(1 + its interactions), so that the map
  // learns from the vectors the data determined.
  AttributeMapOptions map_options = options.map;
  if (options.weigh_by_interactions) {
    map_options.row_weights.clear();
    for (int32_t i : items) {
      map_options.row_weights.push_back(
          static_cast<float>(std::log1p(counts[i])));
    }
  }
  ASSIGN_OR_RETURN(fit.retrieval,
                   FitAttributeMap(x, retrieval_targets, map_options));
  fit.model.retrieval = fit.retrieval.map;
  if (model != nullptr) {
    ASSIGN_OR_RETURN(
        fit.rating,
        FitAttributeMap(x, RatingTargets(*model, items), map_options));
    fit.model.rating = fit.rating->map;
  }
  return fit;
}

absl::StatusOr<int32_t> AppendColdItems(const ItemAttributeModel& attributes,
                                        const ItemAttributeSources& sources,
                                        Dataset* data, MfModel* model,
                                        RetrievalModel* retrieval) {
  const int64_t items = data->num_items();
  if (retrieval->item_factors.rows() != items ||
      retrieval->item_factors.cols() != attributes.retrieval.width() ||
      (model != nullptr &&
       (model->num_items() != items || !attributes.rating.has_value() ||
        attributes.rating->width() != model->factors() + 1))) {
    return absl::InvalidArgumentError(
        "cold items: the models' item rows or widths do not match the data's "
        "items and the attribute maps");
  }
  if (sources.items == nullptr) return 0;
  std::vector<std::string> cold;
  for (const auto& [id, metadata] : *sources.items) {
    if (data->items.Find(id) == kUnknownIndex) cold.push_back(id);
  }
  if (cold.empty()) return 0;
  std::sort(cold.begin(), cold.end(), IdLess);
  const int32_t first = data->num_items();
  const int32_t total = first + static_cast<int32_t>(cold.size());
  if (model != nullptr) {
    model->item_factors.conservativeResize(total, Eigen::NoChange);
    model->item_bias.conservativeResize(total);
  }
  retrieval->item_factors.conservativeResize(total, Eigen::NoChange);
  for (const std::string& id : cold) {
    const int32_t item = data->items.GetOrAdd(id);
    SetMappedRows(attributes, Featurize(attributes.spec, id, sources), item,
                  model, retrieval);
  }
  return static_cast<int32_t>(cold.size());
}

absl::StatusOr<ColdItemEvaluation> EvaluateColdItems(
    const Dataset& train, const TwoStageTrainingResult& trained,
    const TwoStageTrainingOptions& chosen, const ItemAttributeSources& sources,
    const ColdItemOptions& options, const TopNOptions& evaluation) {
  const auto start = std::chrono::steady_clock::now();
  if (!(options.evaluation_items > 0 && options.evaluation_items <= 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cold-item evaluation: the share of items held out must be in (0, "
        "0.5], got ",
        options.evaluation_items));
  }
  if (!trained.retrieval.has_value()) {
    return absl::FailedPreconditionError(
        "cold-item evaluation: needs retrieval embeddings");
  }
  // The held-out items: a seeded shuffle of the items with interactions.
  const std::vector<int32_t> counts = InteractionCounts(train);
  std::vector<int32_t> warm;
  for (int32_t i = 0; i < train.num_items(); ++i) {
    if (counts[i] > 0) warm.push_back(i);
  }
  RandomStream rng(evaluation.seed, 0x636f6c64 /* "cold" */);
  for (size_t i = warm.size(); i > 1; --i) {
    std::swap(warm[i - 1], warm[rng.Below(i)]);
  }
  // At least one item held out, and at least two left to learn from.
  if (warm.size() < 3) {
    return absl::FailedPreconditionError(
        absl::StrCat("cold-item evaluation: ", warm.size(),
                     " items with interactions; at least 3 are needed"));
  }
  const size_t held = std::clamp<size_t>(
      static_cast<size_t>(options.evaluation_items * warm.size() + 0.5), 1,
      warm.size() - 2);
  std::vector<int32_t> held_out(warm.begin(), warm.begin() + held);
  std::sort(held_out.begin(), held_out.end());
  std::vector<bool> is_held(train.num_items(), false);
  for (int32_t i : held_out) is_held[i] = true;

  // Train without them; their interactions are the test.
  Dataset rest;
  rest.users = train.users;
  rest.items = train.items;
  std::vector<Rating> relevant;
  for (const Rating& r : train.ratings) {
    if (!is_held[r.item]) {
      rest.ratings.push_back(r);
    } else if (r.value >= evaluation.relevance_threshold && r.value > 0) {
      relevant.push_back(r);
    }
  }
  // A deterministic sample of the users measured.
  std::vector<int32_t> users;
  for (const Rating& r : relevant) users.push_back(r.user);
  std::sort(users.begin(), users.end());
  users.erase(std::unique(users.begin(), users.end()), users.end());
  if (users.empty()) {
    return absl::FailedPreconditionError(
        "cold-item evaluation: no held-out item has a relevant interaction");
  }
  if (options.max_users > 0 &&
      users.size() > static_cast<size_t>(options.max_users)) {
    for (size_t i = users.size(); i > 1; --i) {
      std::swap(users[i - 1], users[rng.Below(i)]);
    }
    users.resize(options.max_users);
    std::vector<bool> sampled(train.num_users(), false);
    for (int32_t u : users) sampled[u] = true;
    std::erase_if(relevant, [&](const Rating& r) { return !sampled[r.user]; });
  }
  const SparseRatings relevant_by_user =
      GroupRatings(relevant, train.num_users(), RatingAxis::kUser);

  ASSIGN_OR_RETURN(TwoStageTrainingResult cold, TrainTwoStage(rest, chosen));
  if (!cold.retrieval.has_value()) {
    return absl::InternalError("training made no retrieval embeddings");
  }
  MfModel* cold_model =
      cold.rating_trained ? &cold.rating.train.model : nullptr;
  ASSIGN_OR_RETURN(
      const ItemAttributeFit fit,
      FitItemAttributes(rest, cold_model, *cold.retrieval, sources, options));
  for (int32_t item : held_out) {
    SetMappedRows(fit.model,
                  Featurize(fit.model.spec, train.items.Id(item), sources),
                  item, cold_model, &*cold.retrieval);
  }

  ColdItemEvaluation result;
  result.k = std::max(evaluation.k, 1);
  result.items = static_cast<int64_t>(held_out.size());
  result.users = static_cast<int64_t>(users.size());
  result.rating_reg = fit.rating ? fit.rating->map.reg : 0.0f;
  result.retrieval_reg = fit.retrieval.map.reg;
  // The chosen trial's held-out error, beside the mean row's.
  auto chosen_mse = [](const AttributeMapFit& map) {
    for (const AttributeMapTrial& t : map.trials) {
      if (t.reg == map.map.reg) return t.holdout_mse;
    }
    return 0.0;
  };
  if (fit.rating.has_value()) {
    result.rating_holdout_mse = chosen_mse(*fit.rating);
    result.rating_mean_mse = fit.rating->holdout_mse_of_mean;
  }
  result.retrieval_holdout_mse = chosen_mse(fit.retrieval);
  result.retrieval_mean_mse = fit.retrieval.holdout_mse_of_mean;
  const SparseRatings seen =
      GroupRatings(rest.ratings, train.num_users(), RatingAxis::kUser);
  // Ranked as the server ranks: retrieval, then the rerank when there is a
  // rating model.
  auto rank = [&](const TwoStageTrainingResult& models) {
    const EmbeddingScorer retrieval(models.retrieval->user_factors,
                                    models.retrieval->item_factors);
    if (!models.rating_trained) {
      return RankHeldOutItems(retrieval, held_out, relevant_by_user, result.k,
                              evaluation.threads);
    }
    const TwoStageScorer ranked(retrieval, models.rating.train.model, seen,
                                models.ranking);
    return RankHeldOutItems(ranked, held_out, relevant_by_user, result.k,
                            evaluation.threads);
  };
  result.mapped = rank(cold);
  result.trained = rank(trained);
  result.random = ExpectedRandomRanking(static_cast<int32_t>(held_out.size()),
                                        relevant_by_user, result.k);
  const std::vector<std::vector<std::string>> labels =
      ItemLabelsOf(train.items, sources);
  std::vector<int32_t> popularity(train.num_items(), 0);
  for (const Rating& r : rest.ratings) popularity[r.item] += r.value > 0;
  std::vector<bool> known(train.num_items());
  for (int32_t i = 0; i < train.num_items(); ++i) {
    known[i] = !is_held[i] && counts[i] > 0;
  }
  const FixedScorer by_labels(LabelPopularityScores(labels, popularity, known));
  result.label_popularity = RankHeldOutItems(
      by_labels, held_out, relevant_by_user, result.k, evaluation.threads);
  result.label_agreement =
      MeasureLabelAgreementOf(cold.retrieval->item_factors, labels, held_out,
                              result.k, evaluation.seed, evaluation.threads);
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace recserve
