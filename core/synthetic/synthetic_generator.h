#ifndef RECSERVE_CORE_SYNTHETIC_SYNTHETIC_GENERATOR_H_
#define RECSERVE_CORE_SYNTHETIC_SYNTHETIC_GENERATOR_H_

// A generator of synthetic, MovieLens-like rating data with a known ground
// truth, for testing trainers and evaluators at any size without real data.
//
// The hidden model:
//   score s(u, i) = μ + b_u + b_i + p_u · q_i           (noise free)
//   rating        = clamp(round_to_half(s + N(0, σ²)), 0.5, 5)
// with `latent_factors`-dimensional taste vectors p_u, q_i, user and item
// biases, and μ = 3.62, with magnitudes
// chosen so that ratings have MovieLens' mean ≈ 3.5 and standard deviation
// ≈ 1.03, and the taste term carries about half of the score's variance (a
// biases-only model cannot get near the noise floor). Item popularity and
// user activity are power laws; which items a user rates is drawn by
// popularity-weighted sampling without replacement, optionally tilted towards
// the items the user likes: P(rated) ∝ popularity · exp(β p_u·q_i) with
// β = exposure_taste (missing not at random, as in real data). Timestamps
// increase within each user's activity window (1995-2023). In events mode the
// same users, exposures and tastes give a typed event log (views, carts,
// purchases, dislikes) instead of ratings: implicit feedback with a known
// ground truth.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace recserve {

// Bumped whenever the bytes written for the same options change. 4: the
// truth gains the oracle's top-N metrics. 5: the oracle's leave-one-out
// metrics score P(rated) alone.
inline constexpr int kSyntheticGeneratorVersion = 5;

// Every user gets at least this many ratings.
inline constexpr int32_t kSyntheticMinRatingsPerUser = 5;

struct GeneratorOptions {
  // Number of users (ids 1..users) and items (ids 1..items); each >= 1.
  int32_t users = 2000;
  int32_t items = 1000;
  // Exact number of ratings to write. Must be at least
  // kSyntheticMinRatingsPerUser * users and at most half of users * items
  // (denser data cannot be sampled sensibly by popularity).
  int64_t ratings = 200000;
  // Standard deviation σ of the Gaussian rating noise; >= 0 and finite.
  double noise = 0.5;
  // All randomness derives from this seed. Default 1.
  uint64_t seed = 1;
  // Rank of the hidden taste structure; in [1, 256]. Default 2.
  int32_t latent_factors = 2;
  // Number of made-up genres, each a direction in the taste space; in
  // [1, 256]. Default 8.
  int32_t genres = 8;
  // β: how strongly taste decides which items a user rates, >= 0. Default 3:
  // users mostly rate what they are likely to like (missing not at random,
  // as in real data). 0 is exposure by popularity alone. μ is lowered with
  // β so that the observed mean rating stays near 3.5.
  double exposure_taste = 3.0;
  // Path of the ratings file (in events mode: the events file) to write,
  // e.g. "data/ratings.csv"; required.
  // Its parent directory is created if missing.
  std::string out;
  // Whether to add the "oracle" section to truth.json (see
  // GenerateSyntheticData). Default true. It reads the ratings back and
  // ranks the whole catalog for up to 5,000 users per protocol, which on
  // large data costs more time and memory than generating (figures in
  // docs/benchmarks.md).
  bool oracle_metrics = true;
  // Events mode: write a typed event log (implicit feedback) instead of
  // ratings, from the same hidden tastes and exposures; see
  // GenerateSyntheticData. `ratings` is then the number of (user, item)
  // pairs with events. Default false.
  bool events = false;
  // Worker threads; 0 (default) means all hardware threads. The output does
  // not depend on this.
  int32_t threads = 0;
  // Called on the calling thread, never concurrently, as ratings are written:
  // (ratings written so far, options.ratings). May be empty.
  std::function<void(int64_t done, int64_t total)> progress;
};

struct GeneratorReport {
  // Ratings written; in events mode, (user, item) pairs with events.
  int64_t ratings_written = 0;
  // RMSE of the noise-free scores clamped to [0.5, 5] against the written
  // ratings: the best RMSE any model can reach on this data. NaN in events
  // mode (there are no ratings).
  double noise_floor_rmse = 0.0;
  // Events mode: lines written, in total and per event type ("view",
  // "cart", "purchase", "dislike"); 0 and empty otherwise.
  int64_t event_lines = 0;
  std::map<std::string, int64_t> event_type_lines;
  std::string ratings_path;     // options.out
  std::string movies_path;      // <dir of options.out>/movies.csv
  std::string truth_path;       // options.out + ".truth.json"
  double seconds = 0.0;         // Wall time of the whole generation,
  double oracle_seconds = 0.0;  // of which computing the oracle metrics.
};

// Generates a synthetic data set and writes three files:
//  - options.out: MovieLens 25M ratings.csv format, header
//    "userId,movieId,rating,timestamp", LF line endings, ratings written as
//    "4.0"/"3.5". Rows are grouped by user in increasing userId; within a
//    user they are in strictly increasing timestamp order. No (user, item)
//    pair repeats; every user has between kSyntheticMinRatingsPerUser and
//    ceil(items / 2) ratings.
//  - movies.csv beside it: MovieLens format "movieId,title,genres" with
//    RFC 4180 quoting. Titles name the item's dominant latent genre and its
//    number within that genre, e.g. "The Space Western Saga #17 (1994)";
//    genres is the dominant genre, plus "|second" when that one is strong.
//    Some titles contain commas or double quotes (whenever items >= 2).
//  - options.out + ".truth.json": the options (without `out`, `threads`,
//    `progress` and `oracle_metrics`), counts, global_mean (μ), latent_factors,
//    the hidden model's magnitudes, the observed rating distribution,
//    noise_floor_rmse and generator_version; and, with options.oracle_metrics,
//    "oracle": the top-N metrics that a recommender knowing the hidden model
//    reaches on this very data, an upper reference for trained models. They are
//    computed with the project's own evaluator (EvaluateTopN on the ratings
//    read back with ReadRatings and split with SplitDataset) under the two
//    protocols the trainer reports, "random:0.1" (its default split, seed 1)
//    and "loo" (each user's latest rating held out), each with
//    "precision@10", "recall@10", "ndcg@10" (relevant = rating >= 4),
//    "coverage", and leave-one-out "hr@10" and "loo_ndcg@10" (100 sampled
//    negatives), over a seeded sample of at most 5,000 users per protocol
//    (the trainer samples --eval_max_users, so its figures use other users).
//    The oracle ranks by the log-probability that the user rates the item
//    and rates it >= 4:
//      log popularity_i + β p_u·q_i + log Φ((s_ui − 3.75) / σ)
//    with s_ui the noise-free score (a hard step at 3.75 when σ = 0); see
//    core/synthetic/synthetic_oracle.h.
//
// Events mode (options.events): the same users, items, exposures (which
// (user, item) pairs occur) and per-pair timestamps as the rating mode with
// the same options, but options.out holds a typed event log instead of
// ratings: header "userId,movieId,event,count,timestamp", then one line per
// event, e.g. "12,345,view,3,1046995200", with event types "view" (count =
// number of views, long-tailed and growing with how much the user likes the
// item), "cart" and "purchase" (count 1; more likely the more the user likes
// the item; a purchase always follows a cart) and, rarely, "dislike" (count
// 1; for clearly disliked items: a single view, then the dislike). One pair
// may have several lines (several types, or views split over two visits),
// each with its own timestamp; rows are grouped by user in increasing userId
// and sorted by timestamp (non-decreasing) within a user. The model is in
// core/synthetic/synthetic_events.h. Read it back with ReadRatings: format
// kGeneric, columns
// "user=userId,item=movieId,event=event,count=count,timestamp=timestamp",
// Feedback::kImplicit, event weights "view=1,cart=4,purchase=10", negative
// "dislike". truth.json then has options.events = true, "files": {"events",
// "movies"}, "counts": {"users", "items", "pairs", "lines", "event_lines":
// {per type}, "views" (summed view counts), "disliked_pairs"}, "events": the
// event model and how to read the file, no "observed" or "noise_floor_rmse";
// and, with options.oracle_metrics, "oracle": the figures of a recommender
// knowing the hidden model on a random 20% per-user hold-out where every
// positive (non-dislike) interaction is relevant (see
// synthetic::OracleEventsJson), beside popularity's on the same split.
// The rating mode's output does not depend on this mode's existence.
//
// Each file is written to a temporary name and renamed into place, so a
// failed run leaves no partial file under the final name; the ratings file
// comes last, so once it exists all three are complete.
//
// Memory: small and independent of options.ratings, except while computing
// the oracle metrics, which hold the ratings read back and one split of them
// (about 60 bytes per rating).
//
// Deterministic: the same options (other than `threads`/`progress`) give
// byte-identical files on the same platform, whatever the thread count.
//
// Errors: InvalidArgument for invalid options (the message names the
// option); an errno-derived status (e.g. PermissionDenied, NotFound) naming
// the path when a file cannot be created, written or read back.
//
// Thread-safety: may be called concurrently with different output paths.
// Uses options.threads worker threads internally.
absl::StatusOr<GeneratorReport> GenerateSyntheticData(
    const GeneratorOptions& options);

}  // namespace recserve

#endif  // RECSERVE_CORE_SYNTHETIC_SYNTHETIC_GENERATOR_H_
