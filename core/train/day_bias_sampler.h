#ifndef RECSERVE_CORE_TRAIN_DAY_BIAS_SAMPLER_H_
#define RECSERVE_CORE_TRAIN_DAY_BIAS_SAMPLER_H_

// Gibbs sampling of day biases (core/model/day_biases.h) for the Bayesian
// trainer (bpmf_trainer.h). Each group has a zero-mean Gaussian prior whose
// precision is inferred, as the factors' are.

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/day_biases.h"
#include "core/model/mf_model.h"

namespace recserve {

class DayBiasSampler {
 public:
  // Indexes the days and user-days of `fit`, all biases zero.
  explicit DayBiasSampler(absl::Span<const Rating> fit);

  // The current biases of each rating of `fit`, in its order.
  const std::vector<float>& offsets() const { return offsets_; }

  // Draws the group precisions and then every bias from its conditional
  // posterior. `residuals[r]` (in and out) is rating r's value minus its
  // whole current prediction, offsets() included; it is kept current.
  void Sample(float noise_precision, std::mt19937_64& rng,
              std::vector<float>* residuals);

  // Adds the current biases to the running posterior mean.
  void Accumulate();
  // The posterior mean of the accumulated draws (zeros without any).
  DayBiases Mean() const;

  // Sets model->day_biases to Mean(), centred per user: the mean day bias
  // (the day's plus the user's own that day) over each user's ratings moves
  // into model->user_bias. Scores on the training days stay the same, and
  // the time-free score, which is what is served for today, keeps the
  // user's level the day biases had taken (all of it for a user who rated
  // on one day, or for data without timestamps).
  // `model` must have the users of the ratings.
  void PublishMean(MfModel* model) const;

 private:
  struct Group {
    std::vector<int32_t> of_rating;  // the group's index of each rating
    std::vector<float> bias, sum;
    std::vector<int32_t> count;
    float precision = 1.0f;
  };
  void SampleGroup(Group& group, float noise_precision, std::mt19937_64& rng,
                   std::vector<float>* residuals);

  std::vector<int64_t> days_;                           // of day group index
  std::vector<std::pair<int32_t, int64_t>> user_days_;  // of user-day index
  Group day_, user_day_;
  std::vector<float> offsets_;
  int32_t accumulated_ = 0;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_DAY_BIAS_SAMPLER_H_
