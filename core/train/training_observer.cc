#include "core/train/training_observer.h"

namespace recserve {

absl::string_view TrainingPhaseName(TrainingPhase phase) {
  switch (phase) {
    case TrainingPhase::kRatingTuning:
      return "rating_tuning";
    case TrainingPhase::kRatingFit:
      return "rating_fit";
    case TrainingPhase::kRatingRefit:
      return "rating_refit";
    case TrainingPhase::kRankingValidation:
      return "ranking_validation";
    case TrainingPhase::kRetrievalFit:
      return "retrieval_fit";
  }
  return "unknown";
}

}  // namespace recserve
