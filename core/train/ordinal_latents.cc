#include "core/train/ordinal_latents.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/normal_distribution.h"
#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/model/ordinal_output.h"

namespace recserve {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();
// The ratings a worker sums at a time in the cutpoints' likelihood.
constexpr int64_t kLikelihoodChunk = 4096;
// The first proposal spread of a cutpoint, in rating units.
constexpr double kFirstProposalStddev = 0.01;

// log P(lower < z <= upper) for z ~ N(mean, stddev²), computed on the side
// of the mean where the CDF is small; a probability below the smallest
// double counts as e^-745.
double LogIntervalProbability(double mean, double stddev, double lower,
                              double upper) {
  double a = (lower - mean) / stddev, b = (upper - mean) / stddev;
  if (a > 0) {
    const double mirrored_a = -b;
    b = -a;
    a = mirrored_a;
  }
  const double p = NormalCdf(b) - NormalCdf(a);
  return p > 0 ? std::log(p) : -745.0;
}

// The outer two cutpoints halfway between the scale's two lowest and two
// highest values; the interior ones where a normal latent would put them
// given each value's share of the ratings (its quantiles), scaled to fit
// between the outer two. The sampler only refines them: a cutpoint and the
// scores fitted to the latents it bounds move together slowly, so starting
// from even spacing would take many sweeps on a scale used unevenly.
std::vector<double> StartingCutpoints(
    const std::vector<std::vector<int64_t>>& by_category,
    const RatingScale& scale) {
  const int32_t values = static_cast<int32_t>(by_category.size());
  std::vector<double> even, quantiles;
  int64_t total = 0;
  for (const auto& rows : by_category) total += rows.size();
  int64_t below = 0;
  for (int32_t k = 1; k < values; ++k) {
    even.push_back(scale.min + (k - 0.5) * double{scale.step});
    below += by_category[k - 1].size();
    const double share =
        std::clamp(static_cast<double>(below) / std::max<int64_t>(total, 1),
                   1e-4, 1.0 - 1e-4);
    quantiles.push_back(NormalQuantile(share));
  }
  const double span = quantiles.back() - quantiles.front();
  if (values < 4 || !(span > 0.0)) return even;
  std::vector<double> cutpoints = even;
  const double low = even.front(), high = even.back();
  // A value no rating has would give two equal cutpoints; a minimum gap
  // keeps them ascending.
  const double gap = 1e-3 * (high - low) / (values - 1);
  for (int32_t k = 1; k + 1 < values - 1; ++k) {
    const double placed =
        low + (quantiles[k] - quantiles.front()) / span * (high - low);
    cutpoints[k] = std::clamp(placed, cutpoints[k - 1] + gap,
                              high - gap * (values - 2 - k));
  }
  return cutpoints;
}

}  // namespace

absl::StatusOr<OrdinalLatents> OrdinalLatents::Create(
    absl::Span<const Rating> ratings, const RatingScale& scale) {
  OrdinalLatents latents;
  latents.scale_values_ = ScaleValues(scale);
  if (latents.scale_values_ < 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ordinal output: the rating scale ", scale.min, "..", scale.max,
        " (step ", scale.step,
        ") has fewer than three values: one cutpoint cannot fix the latent "
        "scale's unit"));
  }
  latents.category_.resize(ratings.size());
  latents.values_.resize(ratings.size());
  latents.by_category_.resize(latents.scale_values_);
  for (size_t r = 0; r < ratings.size(); ++r) {
    const double position =
        (double{ratings[r].value} - scale.min) / double{scale.step};
    const double k = std::round(position);
    if (!(std::abs(position - k) <= 0.01) || k < 0 ||
        k >= latents.scale_values_) {
      return absl::InvalidArgumentError(
          absl::StrCat("ordinal output: rating ", r + 1, " (", ratings[r].value,
                       ") is not a value of the rating scale ", scale.min, "..",
                       scale.max, " in steps of ", scale.step));
    }
    latents.category_[r] = static_cast<int32_t>(k);
    latents.by_category_[static_cast<size_t>(k)].push_back(
        static_cast<int64_t>(r));
    latents.values_[r] = ratings[r].value;
  }
  latents.cutpoints_ = StartingCutpoints(latents.by_category_, scale);
  // Each latent starts inside its interval: an interior value's at the
  // interval's middle, the end values at the values themselves.
  for (size_t r = 0; r < ratings.size(); ++r) {
    const int32_t k = latents.category_[r];
    if (k > 0 && k < latents.scale_values_ - 1) {
      latents.values_[r] = static_cast<float>(
          0.5 * (latents.cutpoints_[k - 1] + latents.cutpoints_[k]));
    }
  }
  latents.proposal_stddev_.assign(latents.cutpoints_.size(),
                                  kFirstProposalStddev * scale.step);
  return latents;
}

double OrdinalLatents::Lower(const std::vector<double>& cutpoints,
                             int32_t k) const {
  return k == 0 ? -kInfinity : cutpoints[k - 1];
}

double OrdinalLatents::Upper(const std::vector<double>& cutpoints,
                             int32_t k) const {
  return k == scale_values_ - 1 ? kInfinity : cutpoints[k];
}

void OrdinalLatents::SampleCutpoints(absl::Span<const float> scores,
                                     float noise_precision, uint64_t seed,
                                     int32_t threads, bool adapt) {
  const double stddev = 1.0 / std::sqrt(double{noise_precision});
  const int32_t workers = ResolveThreads(threads);
  // The log-likelihood of the ratings cutpoint j bounds (the scale's j-th
  // and (j+1)-th values) under `cutpoints`.
  // One partial sum per fixed chunk, added in chunk order, so that the sum
  // (and each acceptance) does not depend on the threads.
  std::vector<double> partial;
  const auto log_likelihood = [&](const std::vector<double>& cutpoints,
                                  int32_t j) {
    double total = 0.0;
    for (const int32_t k : {j, j + 1}) {
      const std::vector<int64_t>& rows = by_category_[k];
      const double lower = Lower(cutpoints, k), upper = Upper(cutpoints, k);
      const int64_t n = static_cast<int64_t>(rows.size());
      partial.assign((n + kLikelihoodChunk - 1) / kLikelihoodChunk, 0.0);
      ParallelFor(
          n, workers,
          [&](int64_t begin, int64_t end, int32_t) {
            double sum = 0.0;
            for (int64_t i = begin; i < end; ++i) {
              sum +=
                  LogIntervalProbability(scores[rows[i]], stddev, lower, upper);
            }
            partial[begin / kLikelihoodChunk] = sum;
          },
          kLikelihoodChunk);
      for (const double p : partial) total += p;
    }
    return total;
  };
  std::vector<double> proposal = cutpoints_;
  for (size_t j = 1; j + 1 < cutpoints_.size(); ++j) {
    // The fourth stream family, apart from the rows', embeddings' and
    // latents'.
    RandomStream random(seed, j, /*b=*/3);
    proposal[j] = cutpoints_[j] + proposal_stddev_[j] * random.Normal();
    bool accept = false;
    if (proposal[j] > cutpoints_[j - 1] && proposal[j] < cutpoints_[j + 1]) {
      const int32_t k = static_cast<int32_t>(j);
      const double log_ratio =
          log_likelihood(proposal, k) - log_likelihood(cutpoints_, k);
      accept = std::log(random.Uniform()) < log_ratio;
    }
    if (accept) {
      cutpoints_[j] = proposal[j];
    } else {
      proposal[j] = cutpoints_[j];
    }
    if (adapt) proposal_stddev_[j] *= accept ? 1.2 : 0.85;
  }
}

void OrdinalLatents::Sample(absl::Span<const float> scores,
                            float noise_precision, uint64_t seed,
                            int32_t threads) {
  const double stddev = 1.0 / std::sqrt(double{noise_precision});
  ParallelFor(static_cast<int64_t>(values_.size()), ResolveThreads(threads),
              [&](int64_t begin, int64_t end, int32_t) {
                for (int64_t r = begin; r < end; ++r) {
                  const int32_t k = category_[r];
                  // The third stream family, apart from the rows' and
                  // embeddings'.
                  RandomStream random(seed, static_cast<uint64_t>(r), /*b=*/2);
                  values_[r] = static_cast<float>(SampleTruncatedNormal(
                      scores[r], stddev, Lower(cutpoints_, k),
                      Upper(cutpoints_, k), random));
                }
              });
}

void OrdinalLatents::Accumulate(absl::Span<const float> scores,
                                absl::Span<const float> offsets,
                                float noise_precision) {
  if (kept_ == 0) {
    cutpoint_sum_.assign(cutpoints_.size(), 0.0);
    score_sum_.assign(values_.size(), 0.0);
    score_sum_sq_.assign(values_.size(), 0.0);
  }
  ++kept_;
  for (size_t j = 0; j < cutpoints_.size(); ++j) {
    cutpoint_sum_[j] += cutpoints_[j];
  }
  noise_variance_sum_ += 1.0 / noise_precision;
  for (size_t r = 0; r < values_.size(); ++r) {
    const float score = offsets.empty() ? scores[r] : scores[r] - offsets[r];
    score_sum_[r] += score;
    score_sum_sq_[r] += double{score} * score;
  }
}

absl::StatusOr<OrdinalOutput> OrdinalLatents::Output(
    const RatingScale& scale) const {
  if (kept_ == 0) {
    return absl::FailedPreconditionError(
        "ordinal output: no sweep was accumulated");
  }
  const double kept = static_cast<double>(kept_);
  double spread = 0.0;
  for (size_t r = 0; r < values_.size(); ++r) {
    const double mean = score_sum_[r] / kept;
    spread += std::max(score_sum_sq_[r] / kept - mean * mean, 0.0);
  }
  OrdinalOutput output;
  output.stddev = static_cast<float>(std::sqrt(
      noise_variance_sum_ / kept +
      spread / static_cast<double>(std::max<size_t>(values_.size(), 1))));
  for (const double sum : cutpoint_sum_) {
    float c = static_cast<float>(sum / kept);
    if (!output.cutpoints.empty() && !(c > output.cutpoints.back())) {
      c = std::nextafter(output.cutpoints.back(),
                         std::numeric_limits<float>::infinity());
    }
    output.cutpoints.push_back(c);
  }
  if (absl::Status valid = ValidateOrdinalOutput(output, scale); !valid.ok()) {
    return absl::InternalError(
        absl::StrCat("the sampler diverged: ", valid.message()));
  }
  return output;
}

}  // namespace recserve
