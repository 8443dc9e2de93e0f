#include "core/pipeline/training_record.h"

#include <cmath>
#include <string>

namespace recserve {

nlohmann::json RatingParamsJson(const RatingTrainingOptions& o,
                                const RatingTrainingResult& r) {
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

nlohmann::json RetrievalParamsJson(const TwoStageTrainingResult& r) {
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

nlohmann::json TrainingParamsJson(const TwoStageTrainingOptions& options,
                                  const TwoStageTrainingResult& result) {
  nlohmann::json params = RatingParamsJson(options.rating, result.rating);
  params["retrieval"] = RetrievalParamsJson(result);
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
