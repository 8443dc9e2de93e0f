#ifndef RECSERVE_CORE_TRAIN_ORDINAL_LATENTS_H_
#define RECSERVE_CORE_TRAIN_ORDINAL_LATENTS_H_

// The ordinal output's (core/model/ordinal_output.h) part of a Gibbs
// sampler: the latent ratings, by the data augmentation of Albert & Chib,
// "Bayesian Analysis of Binary and Polychotomous Response Data" (1993), and
// the cutpoints. A rating of the scale's k-th value stands for a latent z
// in (c_k, c_{k+1}], z ~ N(score, σ²). Given the scores and cutpoints the
// latents are independent truncated normals; given the latents, the model
// is fitted to them as to real-valued ratings. The outer two cutpoints stay
// halfway between the scale's two lowest and two highest values: they fix
// the latent scale's origin and unit, which the score and σ would
// otherwise share with them. A scale of two values has one cutpoint, which
// cannot fix a unit (σ and the scores would drift together), so it needs
// three values at least. The interior ones are drawn by random-walk
// Metropolis steps with the latents integrated out (as in Albert & Chib
// 2001), whose acceptance does not shrink with the data as a draw given
// the latents would.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/ordinal_output.h"

namespace recserve {

// Not thread-safe; its methods parallelize internally.
class OrdinalLatents final {
 public:
  // The latents of `ratings`, each starting inside its interval, and the
  // cutpoints: the outer two fixed, the interior ones placed by the
  // ratings' shares of the scale's values. Errors: InvalidArgument
  // when `scale` has fewer than three values or a rating is not one of them
  // (within 1% of a step), naming the first such rating.
  static absl::StatusOr<OrdinalLatents> Create(absl::Span<const Rating> ratings,
                                               const RatingScale& scale);

  // One Metropolis step for each interior cutpoint given the ratings'
  // scores (`scores[r]` is rating r's whole score) and the noise precision.
  // With `adapt` (burn-in), each step's proposal spread grows after an
  // acceptance and shrinks after a rejection, towards about half accepted.
  // The steps depend on `seed`, not on `threads`.
  void SampleCutpoints(absl::Span<const float> scores, float noise_precision,
                       uint64_t seed, int32_t threads, bool adapt);

  // Draws every latent from its conditional: N(scores[r], 1 /
  // noise_precision) restricted to rating r's interval. The draws depend on
  // `seed` and the rating's position, not on `threads` (0 = all cores).
  void Sample(absl::Span<const float> scores, float noise_precision,
              uint64_t seed, int32_t threads);

  // Adds a kept sweep to the posterior means the output is published from:
  // the current cutpoints, the noise variance 1 / noise_precision and each
  // rating's time-free score, `scores[r]` less `offsets[r]` (its day bias;
  // `offsets` empty for none).
  void Accumulate(absl::Span<const float> scores,
                  absl::Span<const float> offsets, float noise_precision);

  // The output to publish: the cutpoints' posterior means (kept strictly
  // ascending as floats: a value no rating has squeezes its interval
  // towards nothing) and the spread s = √(mean noise variance + the mean
  // over ratings of each score's posterior variance), since a score's
  // expected rating averaged over the posterior is the expected rating at
  // its mean with both spreads. FailedPrecondition before any Accumulate;
  // Internal when the result is not a valid output for `scale` (the
  // sampler diverged).
  absl::StatusOr<OrdinalOutput> Output(const RatingScale& scale) const;

  // One latent per rating, in the ratings' order.
  absl::Span<const float> values() const { return values_; }
  // The current cutpoints, ascending, one fewer than the scale's values.
  const std::vector<double>& cutpoints() const { return cutpoints_; }

 private:
  OrdinalLatents() = default;

  // The interval of the scale's k-th value under `cutpoints`.
  double Lower(const std::vector<double>& cutpoints, int32_t k) const;
  double Upper(const std::vector<double>& cutpoints, int32_t k) const;

  int32_t scale_values_ = 0;
  std::vector<int32_t> category_;  // per rating, its value's index
  std::vector<std::vector<int64_t>> by_category_;  // the ratings of each
  std::vector<float> values_;
  std::vector<double> cutpoints_;
  std::vector<double> proposal_stddev_;  // per cutpoint
  // Accumulate's sums over the kept sweeps.
  int64_t kept_ = 0;
  std::vector<double> cutpoint_sum_;
  double noise_variance_sum_ = 0.0;
  std::vector<double> score_sum_, score_sum_sq_;  // per rating
};

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_ORDINAL_LATENTS_H_
