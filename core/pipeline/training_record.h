#ifndef RECSERVE_CORE_PIPELINE_TRAINING_RECORD_H_
#define RECSERVE_CORE_PIPELINE_TRAINING_RECORD_H_

// What a training run records as JSON: the parameters written into the
// snapshot manifest ("training_params" and the retrieval "params"), and the
// metrics. JSON has no NaN or infinity: a figure that does not exist for a
// run (a validation RMSE without validation) is written as null.

#include <nlohmann/json.hpp>

#include "core/train/two_stage_trainer.h"

namespace recserve {

// The rating model's parameters: algorithm, seed, epochs, the chosen factors
// and λ (and whether they were tuned) and the algorithm's own settings.
nlohmann::json RatingParamsJson(const RatingTrainingOptions& options,
                                const RatingTrainingResult& result);

// The retrieval model's parameters (null without a retrieval model).
nlohmann::json RetrievalParamsJson(const TwoStageTrainingResult& result);

// All parameters: RatingParamsJson with "retrieval" and "ranking" added.
nlohmann::json TrainingParamsJson(const TwoStageTrainingOptions& options,
                                  const TwoStageTrainingResult& result);

// `value`, or null when it is not finite.
nlohmann::json FiniteOrNull(double value);

// Replaces every non-finite number at the top level of `object` with null.
void NullNonFinite(nlohmann::json* object);

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_TRAINING_RECORD_H_
