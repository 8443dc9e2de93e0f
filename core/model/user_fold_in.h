#ifndef RECSERVE_CORE_MODEL_USER_FOLD_IN_H_
#define RECSERVE_CORE_MODEL_USER_FOLD_IN_H_

// Request-time fold-in: a user's vectors computed from their interactions
// against a model's fixed item side, by the same one-row least-squares steps
// the trainers take, with the regularization each model was trained with.
// Both models' item sides stay as published, so the answer depends on the
// interactions alone: nothing is stored, and every replica computes the same.
//
//  - Retrieval (implicit ALS, implicit_row_solver.h): the user row of
//    Hu–Koren–Volinsky against the item embeddings, with the snapshot's
//    confidence scale and frequency-scaled regularization. With a rating
//    model (explicit feedback) each interaction weighs
//    Confidence(params, rating) times its weight, preference 1; without one
//    (implicit feedback, an events-only snapshot) each interaction carries
//    the signed value of implicit_als.h (UserInteraction::value): it weighs
//    Confidence(params, |value|), preference 0 when value < 0 (confidence.h).
//    A model trained with recency-weighted confidence (recency_weight > 0)
//    first scales each cell's rating or value by its recency factor among
//    the user's cells (recency_factors.h), ranked by UserInteraction::time,
//    as training scaled each user's stored values.
//  - Rating model (biased MF, row_least_squares.h): [p_u, b_u] maximizing
//    the posterior under a diagonal Gaussian prior on [p_u, b_u]:
//      (Σ y yᵀ + s·diag(precision)) x = Σ y t + s·diag(precision)·mean,
//    over the rated interactions (rating != 0), y = [q_i, 1],
//    t = r − μ − b_i, and s = the number of them when the prior scales with
//    the count (ALS and SGD penalize n·λ|p|²) or 1 (BPMF's learned prior,
//    divided by its noise precision). No rated interaction gives the prior
//    mean. Absent for implicit feedback (FoldInParams::has_rating()).

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "core/model/confidence.h"
#include "core/model/implicit_row_solver.h"
#include "core/model/mf_model.h"

namespace recserve {

// The user-side prior of a rating model over [p_u, b_u] (factors + 1 values
// each, the bias last).
struct RatingUserPrior {
  Eigen::VectorXf mean;
  Eigen::VectorXf precision;  // each > 0
  // Whether the precision is multiplied by the user's rating count.
  bool scales_with_count = false;

  // The ridge penalty n·(reg |p|² + bias_reg b²) of ALS and SGD.
  static RatingUserPrior Ridge(int32_t factors, float reg, float bias_reg);
};

// The retrieval model's user step: implicit ALS's settings.
struct RetrievalFoldInParams {
  float reg = 0.0f;                // > 0
  float alpha = 0.0f;              // >= 0
  float unobserved_weight = 0.0f;  // > 0
  // How strength becomes confidence (confidence.h); epsilon > 0.
  ConfidenceScale scale = ConfidenceScale::kLinear;
  float epsilon = 1.0f;
  // FrequencyRegScale's exponent (implicit_row_solver.h), >= 0; 0 is the
  // constant regularization.
  float reg_exponent = 0.0f;
  // Recency-weighted confidence as trained (ImplicitAlsOptions::
  // recency_weight and recency_horizon, recency_factors.h): weight >= 0,
  // 0 = off (the default, and what snapshots before format 6 imply);
  // horizon > 0, in interactions, default 30.
  float recency_weight = 0.0f;
  float recency_horizon = 30.0f;

  ConfidenceParams confidence() const { return {scale, alpha, epsilon}; }
};

// What a snapshot records to fold users in.
struct FoldInParams {
  // Empty (mean and precision of size 0) when there is no rating model
  // (implicit feedback): fold-in then computes the retrieval embedding only.
  RatingUserPrior rating;
  RetrievalFoldInParams retrieval;

  bool has_rating() const {
    return rating.mean.size() > 0 || rating.precision.size() > 0;
  }
};

// ValidateFoldInParams' rating_factors for a snapshot without a rating model.
inline constexpr int32_t kNoRatingModel = -1;

// InvalidArgument naming the field ("fold_in.rating.precision", ...) unless
// the prior has factors + 1 finite values with positive precisions (or, for
// rating_factors == kNoRatingModel, is empty) and the retrieval settings are
// finite and in range (reg > 0, alpha >= 0, unobserved_weight > 0,
// epsilon > 0, reg_exponent >= 0, recency_weight >= 0,
// recency_horizon > 0).
absl::Status ValidateFoldInParams(const FoldInParams& params,
                                  int32_t rating_factors);
// Whether the retrieval settings added with confidence scales (scale,
// epsilon, reg_exponent) hold their defaults, which format-3 snapshots
// imply.
bool HasDefaultConfidence(const RetrievalFoldInParams& params);
// Whether fold-in weighs cells by recency (recency_weight > 0), which needs
// the order of a user's interactions (UserInteraction::time).
inline bool HasRecency(const RetrievalFoldInParams& params) {
  return params.recency_weight > 0.0f;
}

// One interaction, in dense item indices.
struct UserInteraction {
  int32_t item = 0;
  // With a rating model: the rating, 0 = unrated (retrieval only), and a
  // confidence multiplier >= 0.
  float rating = 0.0f;
  float weight = 1.0f;
  // Without a rating model (implicit feedback): the signed value
  // (Rating::value, confidence.h): strength |value|, a negative interaction
  // when < 0. rating and weight are then unused; a caller folds a request's
  // weights into the strength.
  float value = 0.0f;
  // When it happened, for recency weighting (RetrievalFoldInParams::
  // recency_weight > 0; unused otherwise): any integer that orders the
  // user's interactions, larger = later, equal = at the same time; only the
  // order counts (a timestamp, or a position). The default leaves every
  // interaction at the same time: all tied, i.e. unweighted.
  int64_t time = 0;
};

// A folded-in user.
struct FoldedInUser {
  Eigen::RowVectorXf factors;    // rating model p_u; empty without one
  float bias = 0.0f;             // rating model b_u; 0 without one
  Eigen::RowVectorXf embedding;  // retrieval x_u
  int32_t rated = 0;             // interactions the rating model used
};

// Borrows the item side of a published model (a snapshot's mapped arrays,
// which must outlive it and not change); forms the retrieval Gramian once.
// Immutable after construction: FoldIn and Explain may be called from any
// number of threads.
class UserFoldIn final {
 public:
  // With a rating model: `params` valid for item_factors.cols()
  // (ValidateFoldInParams).
  UserFoldIn(Eigen::Map<const FactorMatrix> item_factors,
             Eigen::Map<const Eigen::VectorXf> item_bias, float global_mean,
             Eigen::Map<const FactorMatrix> item_embeddings,
             FoldInParams params);
  // Retrieval only (implicit feedback): params.has_rating() must be false.
  UserFoldIn(Eigen::Map<const FactorMatrix> item_embeddings,
             FoldInParams params);
  UserFoldIn(const UserFoldIn&) = delete;
  UserFoldIn& operator=(const UserFoldIn&) = delete;

  // The user's vectors from `interactions` (items must index the item side;
  // an item may repeat: with a rating model, for retrieval its confidences
  // add up into one cell, for the rating model each rating counts, as
  // repeated ratings would; without one, its interactions make one cell as
  // the rating reader aggregates events (rating_reader.h): the strengths of
  // each polarity summed, the polarity of the latest interaction, by time
  // and then by position in `interactions`). The retrieval row's
  // regularization is scaled by FrequencyRegScale(distinct items,
  // unobserved_weight, items, reg_exponent). With recency_weight > 0 each
  // cell's time is its latest interaction's (as the reader and the rating
  // deduplication keep the latest), the cells are ranked by it, and each
  // interaction's rating (value) is multiplied by its cell's factor
  // (RecencyFactors over the cells) before Confidence: a user whose cells
  // are ordered as in training gets the trained row. The rating model
  // ignores time. No interactions give the prior mean and a zero
  // embedding.
  FoldedInUser FoldIn(absl::Span<const UserInteraction> interactions) const;

  // How much each item the user interacted with contributes to the
  // retrieval score of each of `items` for the user folded in from
  // `interactions`: row r holds, per interacted item j (its cell's
  // confidence c_j and preference p_j, as FoldIn forms them),
  // c_j · p_j · o_jᵀ W⁻¹ o_{items[r]}, where W is the user's regularized
  // Gram matrix (a negative item's share is 0: it pulls the score down
  // through W only); a row sums to the score
  // x_u · o_{items[r]}. items.size() x (distinct interacted items), columns
  // in ascending item order, those items written to *interaction_items when
  // it is not null.
  Eigen::MatrixXf Explain(
      absl::Span<const UserInteraction> interactions,
      absl::Span<const int32_t> items,
      std::vector<int32_t>* interaction_items = nullptr) const;

  const FoldInParams& params() const { return params_; }
  bool has_rating_model() const { return params_.has_rating(); }

 private:
  // The user's retrieval cells: distinct items ascending, each with its
  // confidence and preference.
  struct Cells {
    std::vector<int32_t> items;
    std::vector<float> confidences;
    std::vector<float> preferences;
  };
  Cells RetrievalCells(absl::Span<const UserInteraction> interactions) const;
  float RegScale(size_t cells) const;

  Eigen::Map<const FactorMatrix> item_factors_;
  Eigen::Map<const Eigen::VectorXf> item_bias_;
  float global_mean_;
  Eigen::Map<const FactorMatrix> item_embeddings_;
  FoldInParams params_;
  ImplicitRowSolver retrieval_;
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_USER_FOLD_IN_H_
