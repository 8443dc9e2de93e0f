#ifndef RECSERVE_CORE_PIPELINE_FOLD_IN_EVALUATION_H_
#define RECSERVE_CORE_PIPELINE_FOLD_IN_EVALUATION_H_

// The offline measure of request-time personalization (user_fold_in.h): how
// well the server ranks for a user it was never trained on, given their
// recent interactions, beside the same user trained on and beside
// popularity.
//
// Protocol, inside the training ratings (the held-out test split plays no
// part):
//  1. A seeded share of the users with at least 2 training ratings is held
//     out. Each one's ratings, oldest first (by timestamp; equal timestamps,
//     and files without timestamps, keep input order), are cut in two: the
//     first ⌊n/2⌋ are the recent interactions, the rest the test half.
//  2. Model A is trained with fixed settings on the training ratings minus
//     every rating of those users. Each user is folded in from the recent
//     half against A's item side (UserFoldIn, with A's user prior and
//     retrieval settings, every rating at weight 1, at its timestamp for
//     recency weighting, as the server orders a request's recent
//     interactions) and ranked by the
//     two-stage ranking the server runs (TwoStageScorer: retrieval pool,
//     then the blend with the rating model). Its first stage is the
//     item-item model when model A has one (the settings chose it and the
//     catalog is within its limit), scoring the recent half as the user's
//     history, as the server does; else the folded-in embedding. (The
//     server retrieves with the embedding for a history none of whose
//     items the model has weights for; here such a user, whose whole recent
//     half A never saw, scores 0 everywhere.) Model B likewise ranks with
//     its own item-item model when it has one.
//  3. Model B is trained the same way on the training ratings minus the
//     test halves, i.e. with the recent halves, and ranks the same users.
//  4. Popularity (counted over B's ratings) ranks them too.
// For events (implicit feedback) there is no rating model: both models are
// the retrieval model alone, the fold-in is its user row (UserFoldIn without
// a rating model), and fold_in / trained equal fold_in_retrieval /
// trained_retrieval.
// Each ranks every item of its catalog but the user's recent ones, and is
// scored on the test halves by EvaluateTopN (full ranking: relevant = test
// rating >= the threshold; leave-one-out: the latest test item against
// sampled negatives). An item A never saw cannot be folded in or ranked by
// A: as on the server, fold-in ignores it, and as a test item it counts as a
// miss.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "core/data/ratings.h"
#include "core/eval/topn_evaluation.h"
#include "core/train/two_stage_trainer.h"

namespace recserve {

// The held-out users' ratings and the two training sets.
struct FoldInSplit {
  // Model A's training ratings: every rating of the other users. Compacted
  // like TrainTest::train.
  Dataset without_users;
  // Model B's: without_users's ratings, then the held-out users' recent
  // halves. Compacted; its first users and items are without_users's, in
  // the same order, so both index them alike.
  Dataset with_recent;
  // The test halves, indexed into with_recent (an item that only test halves
  // hold is kUnknownIndex).
  std::vector<Rating> test;
  // The held-out users, indices into with_recent (each has a recent half).
  std::vector<int32_t> users;
};

// Splits `train` as the protocol's step 1 says, holding out
// round(share · eligible users) users (at least 1 when share > 0 and a user
// is eligible; never every user) drawn uniformly by `seed`. An empty
// `users` means there is nothing to evaluate (share 0, or no user with 2
// ratings). Deterministic; O(ratings log ratings).
FoldInSplit SplitFoldInUsers(const Dataset& train, double share, uint64_t seed);

struct FoldInEvaluation {
  // Held-out users, their recent and test ratings, and model A's training
  // data.
  int32_t users = 0;
  int64_t recent_ratings = 0;
  int64_t test_ratings = 0;
  int32_t model_a_users = 0;
  int64_t model_a_ratings = 0;
  // The same users and test halves ranked by: the two-stage ranking over
  // folded-in users (model A), over trained users (model B), and
  // popularity; and each model's retrieval embeddings alone, to tell which
  // part a gap comes from.
  TopNMetrics fold_in;
  TopNMetrics trained;
  TopNMetrics popularity;
  TopNMetrics fold_in_retrieval;
  TopNMetrics trained_retrieval;
  int32_t k = 10;      // of every @K metric
  double seconds = 0;  // the whole evaluation, both trainings included

  // Recall@K of fold-in over popularity's and over the trained users'; NaN
  // when the divisor is 0.
  double RecallVsPopularity() const;
  double RecallVsTrained() const;
};

// Runs steps 2-4 on `split` (from SplitFoldInUsers, with users). `settings`
// must leave nothing to choose (no validation: the pipeline passes the
// settings validation chose) and train retrieval embeddings; `evaluation`
// says how to rank (K, relevance, negatives, sampled users, seed, threads).
// Errors: FailedPrecondition when `settings` trains no retrieval model;
// those of training.
absl::StatusOr<FoldInEvaluation> EvaluateFoldIn(
    const FoldInSplit& split, const TwoStageTrainingOptions& settings,
    const TopNOptions& evaluation);

// The report's "fold_in" object: the counts, "seconds", the two recall
// ratios ("recall_vs_popularity", "recall_vs_trained"), and under "methods"
// each ranking's metrics ("precision@K", "recall@K", "ndcg@K", "coverage",
// "hr@K", "loo_ndcg@K", "topn_users", "loo_users"). Non-finite figures are
// null.
nlohmann::json FoldInToJson(const FoldInEvaluation& evaluation);

// The same figures as flat manifest metrics: "fold_in/recall@K", ... for
// fold-in; "fold_in/<method>/recall@K", ... for trained, popularity,
// retrieval (fold-in's retrieval embeddings alone) and trained_retrieval;
// "fold_in/recall_vs_popularity", "fold_in/recall_vs_trained",
// "fold_in/users" and "fold_in_seconds". A figure that does not exist (no
// user with a relevant test item, a ratio over 0) is null.
void AddFoldInMetrics(const FoldInEvaluation& evaluation,
                      nlohmann::json* metrics);

}  // namespace recserve

#endif  // RECSERVE_CORE_PIPELINE_FOLD_IN_EVALUATION_H_
