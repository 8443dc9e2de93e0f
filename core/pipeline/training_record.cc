#include "core/pipeline/training_record.h"

#include <cmath>
#include <string>

namespace recserve {

nlohmann::json RatingParamsJson(const RatingTrainingOptions& o,
                                const RatingTrainingResult& r) {
  nlohmann::json p;
  p["algo"] = std::string(AlgorithmName(r.algorithm));
  if (o.algorithm == Algorithm::kAuto) {
    // How it was chosen, so that a rerun on other data can be understood.
    p["algo_chosen_by"] = "data size";
    p["bpmf_max_ratings"] = o.bpmf_max_ratings;
  }
  p["seed"] = o.seed;
  p["epochs_run"] = r.chosen_epochs;
  if (r.algorithm != Algorithm::kBpmf) p["reg_tuned"] = !r.reg_trials.empty();
  p["refit"] = r.refitted;
  switch (r.algorithm) {
    case Algorithm::kAls:
      p["factors"] = r.factors;
      p["max_iterations"] = o.als.max_iterations;
      p["warm_epochs"] = o.warm_epochs;
      p["warm_started"] = r.warm_started;
      p["cg_steps"] = o.als.cg_steps;
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
      // 0 asks for sweeps by size; epochs_run is what ran.
      p["sweeps"] = o.bpmf.sweeps;
      p["burn_in"] = o.bpmf.burn_in;
      p["averaged_samples"] = o.bpmf.averaged_samples;
      p["implicit_terms"] = o.bpmf.implicit_terms;
      // Whether labels were features: asked for, and some item (of the
      // metadata) or user (of the training data) had one.
      p["item_labels"] = o.bpmf.implicit_terms && o.bpmf.item_labels &&
                         o.item_labels != nullptr;
      p["user_labels"] = o.bpmf.implicit_terms && o.bpmf.user_labels &&
                         o.user_labels != nullptr;
      p["day_biases"] = o.bpmf.day_biases;
      // Asked for; params.ordinal_output is what the published model has.
      p["ordinal"] = o.bpmf.ordinal_output;
      break;
    case Algorithm::kAuto:
      break;
  }
  return p;
}

nlohmann::json RetrievalTrialsJson(const TwoStageTrainingResult& r) {
  nlohmann::json trials = nlohmann::json::array();
  for (const RetrievalTrial& t : r.retrieval_trials) {
    trials.push_back({{"setting", t.setting},
                      {"value", t.value},
                      {"recall", FiniteOrNull(t.recall)},
                      {"ndcg", FiniteOrNull(t.ndcg)},
                      {"seconds", t.seconds}});
  }
  return {{"trials", trials},
          {"validation_recall", FiniteOrNull(r.retrieval_validation_recall)},
          {"popularity_validation_recall",
           FiniteOrNull(r.popularity_validation_recall)},
          {"out_of_time", r.retrieval_tuning_out_of_time}};
}

nlohmann::json RetrievalParamsJson(const TwoStageTrainingResult& r) {
  if (!r.retrieval) return nullptr;
  const ImplicitAlsOptions& o = r.retrieval_options;
  nlohmann::json params = {
      {"algo", "implicit_als"},
      {"factors", o.factors},
      {"reg", o.reg},
      {"reg_tuned",
       !r.retrieval_reg_trials.empty() || !r.retrieval_trials.empty()},
      {"recency_weight", o.recency_weight},
      {"recency_horizon", o.recency_horizon},
      {"unobserved_weight", o.unobserved_weight},
      {"alpha", o.alpha},
      {"confidence_scale",
       std::string(ConfidenceScaleName(o.confidence_scale))},
      {"epsilon", o.epsilon},
      {"reg_exponent", o.reg_exponent},
      {"iterations", o.iterations},
      {"cg_steps", o.cg_steps},
      // What the model ran: fewer than `iterations` when it
      // started from another model (two_stage_trainer.h).
      {"sweeps_run", r.retrieval->loss_history.size()}};
  if (!r.retrieval_trials.empty()) params["tuning"] = RetrievalTrialsJson(r);
  if (!r.retrieval_reg_trials.empty()) {
    nlohmann::json trials = nlohmann::json::array();
    for (const RetrievalRegTrial& t : r.retrieval_reg_trials) {
      trials.push_back({{"reg", t.reg},
                        {"recency_weight", t.recency_weight},
                        {"recency_horizon", t.recency_horizon},
                        {"hr", FiniteOrNull(t.hr)},
                        {"ndcg", FiniteOrNull(t.ndcg)}});
    }
    // The latest-interaction validation's trials (two_stage_trainer.h).
    params["latest_validation"] = trials;
  }
  return params;
}

// The item-item model: whether it ranks, its settings, and the validation's
// trials; null when it was neither searched nor given.
nlohmann::json ItemItemParamsJson(const TwoStageTrainingResult& r) {
  if (!r.item_item && r.item_item_trials.empty()) return nullptr;
  nlohmann::json trials = nlohmann::json::array();
  for (const ItemItemTrial& t : r.item_item_trials) {
    trials.push_back({{"reg", t.params.reg},
                      {"recency_weight", t.params.recency_weight},
                      {"recency_horizon", t.params.recency_horizon},
                      {"hr", FiniteOrNull(t.hr)},
                      {"ndcg", FiniteOrNull(t.ndcg)},
                      {"random_ndcg", FiniteOrNull(t.random_ndcg)}});
  }
  nlohmann::json params = {
      {"algo", "ease"},
      {"chosen", r.item_item.has_value()},
      {"latest_validation", trials},
      // The embeddings' NDCG on the guard's random hold-out (null without).
      {"guard_ndcg", FiniteOrNull(r.item_item_guard_ndcg)}};
  if (r.item_item) {
    params["items"] = r.item_item->num_items();
    params["reg"] = r.item_item->params.reg;
    params["recency_weight"] = r.item_item->params.recency_weight;
    params["recency_horizon"] = r.item_item->params.recency_horizon;
  }
  return params;
}

nlohmann::json TrainingParamsJson(const TwoStageTrainingOptions& options,
                                  const TwoStageTrainingResult& result) {
  if (!options.train_rating) {  // events: the retrieval model ranks alone
    return {{"algo", "implicit_als"},
            {"retrieval", RetrievalParamsJson(result)}};
  }
  nlohmann::json params = RatingParamsJson(options.rating, result.rating);
  params["retrieval"] = RetrievalParamsJson(result);
  params["item_item"] = ItemItemParamsJson(result);
  params["ranking"] = {{"candidates", result.ranking.candidates},
                       {"blend_weight", result.ranking.blend_weight},
                       {"blend_tuned", !result.blend_trials.empty()}};
  return params;
}

nlohmann::json FiniteOrNull(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json();
}

void NullNonFinite(nlohmann::json* object) {
  for (auto& [key, value] : object->items()) {
    if (value.is_number_float()) value = FiniteOrNull(value.get<double>());
  }
}

}  // namespace recserve
