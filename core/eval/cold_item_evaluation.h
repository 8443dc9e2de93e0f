#ifndef RECSERVE_CORE_EVAL_COLD_ITEM_EVALUATION_H_
#define RECSERVE_CORE_EVAL_COLD_ITEM_EVALUATION_H_

// Offline evaluation of items nobody has interacted with ("cold" items, whose
// vectors come from their attributes: core/model/attribute_map.h), on a
// cold-item split: a share of the items with interactions is held out with
// all their interactions, the models are trained without them, and for each
// user who interacted with held-out items the held-out items alone are
// ranked. Figures beside the expected ones of random order, beside
// "popularity by shared labels" and beside the same items' trained vectors.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/types/span.h"
#include "core/data/sparse_ratings.h"
#include "core/eval/genre_agreement.h"
#include "core/model/item_scorer.h"

namespace recserve {

// Hit rate and NDCG at k of one way of ranking the held-out items.
struct ColdItemRanking {
  // Share of the users with at least one relevant item in their top k.
  double hit_rate = 0.0;
  // Mean NDCG@k (binary relevance; ideal DCG over min(relevant, k) items).
  double ndcg = 0.0;
};

// For each user, the held-out items relevant to them: `relevant.Row(user)`
// holds item indices that must be among `held_out`; users with an empty row
// are not measured.
//
// Ranks `held_out` for every such user by `scorer` (its scores of the
// held-out items only, in recserve's one ranking order, core/base/top_k.h:
// higher first, ties to the lower item index, NaN after -inf) and returns
// the mean hit rate and NDCG at k over those users (core/eval/
// ranking_metrics.h: HitAtK, NdcgAtK; repeated items in a row count once).
// Both are 0 when no user is measured or k < 1. Held-out items outside
// [0, scorer.num_items()) are never ranked. Calls scorer.ScoreItems once per
// measured user (row index = user index), concurrently, with one buffer per
// worker. Uses `threads` workers (0 = all cores); the result does not depend
// on their number (per-user figures are summed in user order).
ColdItemRanking RankHeldOutItems(const ItemScorer& scorer,
                                 absl::Span<const int32_t> held_out,
                                 const SparseRatings& relevant, int32_t k,
                                 int32_t threads);

// The expected hit rate and NDCG at k of a uniformly random order of
// `num_held_out` items for the same users, computed exactly: for m items of
// which r are relevant (the row's distinct items, at most m),
// HR = 1 - C(m - r, k) / C(m, k) (as a product, stable for any m), and
// NDCG = E[DCG] / IDCG with E[DCG] = (r / m) Σ_{j < min(k, m)} 1/log2(j + 2)
// and IDCG over min(r, k) (fixed per user, so the expected ratio is the
// ratio of the expectation). Averaged over the users RankHeldOutItems
// measures (non-empty rows); 0 as it is 0.
ColdItemRanking ExpectedRandomRanking(int32_t num_held_out,
                                      const SparseRatings& relevant, int32_t k);

// "Popularity by shared labels" (served by FixedScorer, item_scorer.h): a
// score for each of `num_items` items that
// a model without interactions can give, the same for every user. For item
// i, the mean over its labels l of the mean `popularity` of the `warm` items
// carrying l; items without labels (or whose labels no warm item carries)
// get the mean popularity of the warm items (0 without warm items); labels
// no warm item carries are left out of the mean, and an item's repeated
// label counts once. `labels[i]` are item i's labels (genres and
// labels-file labels), `warm[i]` whether its popularity counts: num_items is
// labels.size(), and items past the end of `popularity` or `warm` are not
// warm. A cold item's own popularity is never used.
std::vector<float> LabelPopularityScores(
    const std::vector<std::vector<std::string>>& labels,
    absl::Span<const int32_t> popularity, const std::vector<bool>& warm);

// SimilarItems' label agreement for the `query_items` only: how often their
// k nearest neighbours by cosine of `item_vectors` (exact, among every
// item with labels but the query) share a label with them, beside random
// pairs (MeasureGenreAgreement's figures, restricted to these queries).
// `items` counts the distinct queries with labels (others are skipped).
// `random` is the share over pairs (query, uniformly drawn other labelled
// item): max(20, ceil(20000 / queries)) per query, drawn from a stream of
// (seed, query item), so deterministic for the seed. nullopt when fewer than
// two items have labels, no query has labels, or k < 1. Uses `threads`
// workers; the result does not depend on their number.
std::optional<GenreAgreement> MeasureLabelAgreementOf(
    const FactorMatrix& item_vectors,
    const std::vector<std::vector<std::string>>& labels,
    absl::Span<const int32_t> query_items, int32_t k, uint64_t seed,
    int32_t threads);

// The cold-item section of the trainer's report.
struct ColdItemEvaluation {
  int32_t k = 10;
  // Held-out items, and users measured (with a relevant held-out item).
  int64_t items = 0;
  int64_t users = 0;
  // Attribute vectors mapped to the models' spaces, ranked as the server
  // ranks (the two-stage ranker over the held-out items).
  ColdItemRanking mapped;
  ColdItemRanking random;            // expected, exact
  ColdItemRanking label_popularity;  // LabelPopularityScores
  // The same items with the vectors the full model trained for them, which
  // saw their interactions: an upper reference.
  ColdItemRanking trained;
  // Label agreement of the held-out items' SimilarItems neighbours by their
  // mapped vectors, beside random pairs; nullopt without labels.
  std::optional<GenreAgreement> label_agreement;
  // How the maps were chosen: the ridge regularization of each space and
  // the held-out error beside the mean row's.
  float rating_reg = 0.0f;  // 0 without a rating model
  float retrieval_reg = 0.0f;
  // Held-out mean squared error per target value of the chosen map and of
  // the mean row alone (AttributeMapFit: the chosen trial's holdout_mse,
  // holdout_mse_of_mean); 0 without that model.
  double rating_holdout_mse = 0.0;
  double rating_mean_mse = 0.0;
  double retrieval_holdout_mse = 0.0;
  double retrieval_mean_mse = 0.0;
  double seconds = 0.0;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_EVAL_COLD_ITEM_EVALUATION_H_
