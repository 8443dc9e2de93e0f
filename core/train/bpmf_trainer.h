#ifndef RECSERVE_CORE_TRAIN_BPMF_TRAINER_H_
#define RECSERVE_CORE_TRAIN_BPMF_TRAINER_H_

// Bayesian biased matrix factorization by Gibbs sampling, after
// Salakhutdinov & Mnih, "Bayesian Probabilistic Matrix Factorization using
// MCMC" (2008), with a diagonal prior: each latent dimension (and the bias)
// has its own Normal mean and Gamma precision, sampled from their
// conditionals, and the rating noise precision is sampled too. Every sweep
// draws each user row, then each item row, from the Gaussian that ALS would
// take the mode of. Nothing needs tuning: the regularization is inferred.
// By default the model also has the terms of Rendle et al., "On the
// Difficulty of Evaluating Baselines" (2019): implicit (SVD++-style) terms
// both ways, and day biases (core/model/day_biases.h), each group of
// parameters under its own inferred prior.
//
// The returned model is the posterior mean of the predictions over the kept
// sweeps (posterior_mean.h), at `factors` dimensions, with the implicit
// terms folded into its rows, so it serves as an ordinary MfModel (its
// accuracy beside ALS and SGD: docs/benchmarks.md).
// Rows are sampled in parallel with per-row random streams, so results do
// not depend on the thread count.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/train/early_stopping.h"

namespace recserve {

// The sweeps run by default (BpmfOptions::sweeps = 0): kAutoSweepRatings /
// ratings, within [kMinAutoSweeps, kMaxAutoSweeps]. Small data needs many
// samples for its wide posterior, and they are cheap there.
inline constexpr int64_t kAutoSweepRatings = 40'000'000;
inline constexpr int32_t kMinAutoSweeps = 100;
inline constexpr int32_t kMaxAutoSweeps = 500;

struct BpmfOptions {
  // Latent dimensions. Default 10, as in Rendle et al. (2019)'s MovieLens
  // 100K runs: the implicit terms carry much of what more factors would
  // (the comparison: docs/benchmarks.md).
  int32_t factors = 10;
  // Total sweeps, including burn-in; 0 = by the data size (ResolveSweeps).
  int32_t sweeps = 0;
  // Sweeps discarded before averaging starts. Default 50.
  int32_t burn_in = 50;
  // Samples kept for the posterior mean (posterior_mean.h), thinned evenly
  // over the sweeps after burn-in; fewer when their factors would take more
  // than 256 MB. Default 64.
  int32_t averaged_samples = 64;
  // SVD++-style implicit terms, both ways (Koren 2008; the "flipped" item
  // side of Rendle et al. 2019): a user's row is offset by the normalized
  // sum of embeddings of the items the user rated, and an item's row by
  // that of the users who rated it. The embeddings are sampled like the
  // rows, each group under its own inferred prior. Default on.
  bool implicit_terms = true;
  // Side information, with implicit_terms: an item's labels (BpmfLabels::
  // items, e.g. genres) are implicit features of the item beside the users
  // who rated it, each label with its own sampled embedding g_l (under the
  // prior of that side's embeddings), normalized as a group of its own: the
  // item's row is offset by |L(i)|^(-1/2) Σ g_l too. The same for a user's
  // labels (BpmfLabels::users, e.g. age group, occupation) beside the items
  // they rated. Default on (docs/training.md).
  bool item_labels = true;
  bool user_labels = true;
  // Day biases (core/model/day_biases.h): per day, and per user and day.
  // They are the model's own (MfModel::day_biases); the time-free rest is
  // what is served for today. Default on.
  bool day_biases = true;
  // An ordinal output (core/model/ordinal_output.h, ordinal_latents.h), when
  // every rating is one of the scale's values and the scale has three values
  // or more (else, as for real-valued ratings, the Gaussian output, clamped):
  // the sampler fits latent ratings drawn within each rating's interval and
  // learns the interior cutpoints, and the model (MfModel::ordinal) predicts
  // the expected rating. Its cutpoints are their posterior means; its spread is
  // the noise's and the scores' posterior spread on the training ratings
  // together. Default on.
  bool ordinal_output = true;
  // Standard deviation of the initial factors. Default 0.1.
  float init_stddev = 0.1f;
  // Worker threads; 0 = all cores.
  int32_t threads = 0;
  uint64_t seed = 1;
};

// Per user and per item (dense index), the indices of its labels, in
// [0, number of labels); rows past a span's end have none.
struct BpmfLabels {
  absl::Span<const std::vector<int32_t>> users = {};
  absl::Span<const std::vector<int32_t>> items = {};
};

// The sweeps TrainBpmf runs for `ratings` training ratings.
int32_t ResolveSweeps(const BpmfOptions& options, int64_t ratings);

// Trains on `fit`. `valid`, when not empty, is only reported, so progress
// can be followed; there is no early stopping. Each sweep's EpochStats
// measure that sweep's sample without its day biases (and, with the
// ordinal output, its scores clamped: the latent scale, which is close to
// the rating scale); the last sweep's measure the returned model. `fit` must
// hold each (user, item) pair at most once (the readers deduplicate): the
// implicit terms count a pair once per rating. TrainResult::user_prior, for
// request-time fold-in, is the spread of the returned user rows (their SVD
// basis, implicit terms included), not a prior the sampler used. `labels` are
// used with implicit_terms, each side when its option is on. Errors:
// InvalidArgument for bad options, empty `fit`, or (with implicit_terms) a
// label index that is negative or not below the number of labels entries;
// Internal if the sampler diverges (non-finite factors, or an ordinal output
// whose cutpoints or spread are not finite).
absl::StatusOr<TrainResult> TrainBpmf(int32_t num_users, int32_t num_items,
                                      absl::Span<const Rating> fit,
                                      absl::Span<const Rating> valid,
                                      const RatingScale& scale,
                                      const BpmfOptions& options,
                                      const EpochCallback& on_epoch = {},
                                      const BpmfLabels& labels = {});

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_BPMF_TRAINER_H_
