#ifndef RECSERVE_CORE_TRAIN_TRAINING_OBSERVER_H_
#define RECSERVE_CORE_TRAIN_TRAINING_OBSERVER_H_

// Progress of training, reported to whoever runs it (the trainer CLI prints
// it; tests may record it).

#include <cstdint>
#include <functional>

#include "absl/strings/string_view.h"
#include "core/train/early_stopping.h"

namespace recserve {

enum class TrainingPhase {
  // The rating model (core/train/rating_model_trainer.h).
  kRatingTuning,  // one candidate of the factors × λ search
  kRatingFit,     // the rating model with the chosen settings
  kRatingRefit,   // again on all its ratings for the chosen epochs
  // The two-stage ranking (core/train/two_stage_trainer.h).
  kRankingValidation,  // both models without each user's latest rating
  kRetrievalFit,       // the retrieval model on all its ratings
};

// "rating_tuning", "rating_fit", ...: for logs and reports.
absl::string_view TrainingPhaseName(TrainingPhase phase);

struct PhaseEvent {
  TrainingPhase phase = TrainingPhase::kRatingFit;
  // kRatingTuning: the candidate's factors and λ; 0 otherwise.
  int32_t factors = 0;
  float reg = 0;
};

// Both callbacks are optional and run on the training thread.
struct TrainingObserver {
  std::function<void(const PhaseEvent&)> on_phase;
  EpochCallback on_epoch;

  void Phase(const PhaseEvent& event) const {
    if (on_phase) on_phase(event);
  }
};

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_TRAINING_OBSERVER_H_
