#ifndef RECSERVE_CORE_PIPELINE_COLD_ITEMS_H_
#define RECSERVE_CORE_PIPELINE_COLD_ITEMS_H_

// New items from their metadata, in a training run: the maps from item
// attributes to the models' spaces (core/model/attribute_map.h), learned on
// the items that have interactions; the items of the metadata that nobody
// interacted with, published as cold items with mapped rows; and the
// cold-item split evaluation (core/eval/cold_item_evaluation.h).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/item_attributes.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"
#include "core/eval/cold_item_evaluation.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/attribute_map.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"
#include "core/train/two_stage_trainer.h"

namespace recserve {

struct ColdItemOptions {
  // Whether a run given item metadata learns the attribute maps, publishes
  // them, and publishes the metadata's items without interactions as cold
  // items. Default true.
  bool enabled = true;
  ItemAttributeOptions attributes;
  AttributeMapOptions map;
  // Whether each item weighs log(1 + its interactions) in the maps' fit
  // (else 1; options.map.row_weights is then used as given). Default true.
  bool weigh_by_interactions = true;
  // Share of the items with training interactions held out, with all their
  // interactions, for the cold-item evaluation, in [0, 0.5]; 0 turns the
  // evaluation off. It costs one more training (without validation).
  // Default 0.1.
  double evaluation_items = 0.1;
  // Users measured at most (a deterministic sample of those with a relevant
  // held-out item). Default 20,000.
  int32_t max_users = 20'000;
};

// Maps learned for a run, with how their regularization was chosen.
struct ItemAttributeFit {
  ItemAttributeModel model;
  // The rating model's map (absent without one) and the retrieval one.
  std::optional<AttributeMapFit> rating;
  AttributeMapFit retrieval;
  // Items the maps were learned on.
  int32_t items = 0;
};

// Learns the maps from the items of `data` that have at least one rating
// (their rows of `model`, factors then bias, and of `retrieval`), with the
// attributes `sources` give them. `model` may be null (implicit feedback).
// Errors: FailedPrecondition when fewer than 2 such items have any
// attribute; those of FitAttributeMap.
absl::StatusOr<ItemAttributeFit> FitItemAttributes(
    const Dataset& data, const MfModel* model, const RetrievalModel& retrieval,
    const ItemAttributeSources& sources, const ColdItemOptions& options);

// Appends to `data->items` the items of `sources.items` (the catalog) that it
// lacks, ascending by id (numerically for digit ids: shorter first, then by
// bytes), and to `model` (may be null) and `retrieval` their rows mapped by
// `attributes`. Returns how many were appended: the last that many items are
// the cold ones. Errors: InvalidArgument when the models' item rows are not
// data->num_items() or their widths differ from the maps' (nothing is
// changed then).
absl::StatusOr<int32_t> AppendColdItems(const ItemAttributeModel& attributes,
                                        const ItemAttributeSources& sources,
                                        Dataset* data, MfModel* model,
                                        RetrievalModel* retrieval);

// The cold-item split evaluation of a run trained on `train`: holds out
// options.evaluation_items of the items with interactions (with all their
// interactions), trains the models again on the rest with `chosen` settings,
// maps the held-out items from their attributes and ranks them for the
// users who interacted with them (relevant as `evaluation` says), beside
// random order, popularity by shared labels and `trained` (the run's models,
// which saw them). Errors: FailedPrecondition when there is nothing to
// evaluate (fewer than 3 items with interactions, no held-out item with a
// relevant interaction, too little metadata); those of training and
// fitting.
absl::StatusOr<ColdItemEvaluation> EvaluateColdItems(
    const Dataset& train, const TwoStageTrainingResult& trained,
    const TwoStageTrainingOptions& chosen, const ItemAttributeSources& sources,
    const ColdItemOptions& options, const TopNOptions& evaluation);

// Each item's labels for the cold-item figures: its genres, then the labels
// of the labels file.
std::vector<std::vector<std::string>> ItemLabelsOf(
    const IdMap& items, const ItemAttributeSources& sources);

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_COLD_ITEMS_H_
