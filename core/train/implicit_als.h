#ifndef RECSERVE_CORE_TRAIN_IMPLICIT_ALS_H_
#define RECSERVE_CORE_TRAIN_IMPLICIT_ALS_H_

// Retrieval embeddings from who interacted with what: weighted matrix
// factorization of the preference matrix (Hu, Koren, Volinsky, "Collaborative
// Filtering for Implicit Feedback Datasets", 2008). Every (user, item) cell
// counts:
//   minimize Σ_{u,i} w_ui (p_ui − x_u·y_i)²
//            + reg (Σ_u s_u |x_u|² + Σ_i s_i |y_i|²)
// with, on an observed cell of stored value v (confidence.h), p_ui =
// PreferenceOf(v) (1 for a positive interaction, 0 for a negative one) and
// w_ui = Confidence(options.confidence(), |v|); p_ui = 0 and w_ui =
// unobserved_weight on all other cells. s_u = FrequencyRegScale(n_u, w0,
// items, reg_exponent) for a user with n_u observed cells (likewise s_i
// against the users): 1 for the constant regularization, Rendle et al.
// 2021's frequency scaling for reg_exponent 1. The all-cells term is handled
// with the Gramian trick (w0·YᵀY computed once per half-step), so a sweep
// costs O(ratings · k² + rows · k³), not O(users · items) — or, with
// conjugate-gradient row solves (cg_steps > 0; Takács, Pilászy and Tikk
// 2011), O(cg_steps · (ratings · k + rows · k²)). Rows are solved in
// parallel; results do not depend on the thread count.

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/data/ratings.h"
#include "core/model/confidence.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"

namespace recserve {

// Defaults chosen by a sweep on MovieLens 100K and checked on generated data
// (docs/benchmarks.md).
struct ImplicitAlsOptions {
  // Embedding dimensions. Default 32.
  int32_t factors = 32;
  // Sweeps (user half-step + item half-step). Default 15.
  int32_t iterations = 15;
  // L2 penalty on the embeddings. Default 10.
  float reg = 10.0f;
  // Weight of every unrated cell (target 0). Default 1.
  float unobserved_weight = 1.0f;
  // Confidence scaling: an observed cell weighs Confidence({confidence_scale,
  // alpha, epsilon}, |value|) (confidence.h). alpha >= 0, default 0.3;
  // linear; epsilon > 0 (kLog only), default 1.
  float alpha = 0.3f;
  ConfidenceScale confidence_scale = ConfidenceScale::kLinear;
  float epsilon = 1.0f;
  // Frequency-scaled regularization: each row's reg times
  // FrequencyRegScale(its entries, unobserved_weight, other side's rows,
  // reg_exponent) (implicit_row_solver.h); >= 0. Default 0: constant.
  float reg_exponent = 0.0f;
  // Recency-weighted confidence (core/model/recency_factors.h): each
  // interaction's strength scaled by its recency among the user's, by
  // `recency_weight` (>= 0; 0 = off, the default) with `recency_horizon`
  // (> 0, in interactions; default 10). The two-stage trainer chooses both
  // on validation; fold-in applies the same weighting
  // (RetrievalFoldInParams).
  float recency_weight = 0.0f;
  float recency_horizon = 10.0f;
  // Conjugate-gradient steps per row solve in the sweeps, each started from
  // the row's current value (the previous sweep's, or `from`'s), so that a
  // few steps per sweep suffice as ALS converges; 0 solves every row
  // exactly by Cholesky. The user step after the last sweep is always
  // exact, so that request-time fold-in (user_fold_in.h) reproduces a
  // trained user. Must be >= 0. Default 3: after the default sweeps its
  // loss is close to the exact solve's (1 step falls measurably short), at a
  // fraction of the cost.
  int32_t cg_steps = 3;
  // Standard deviation of the initial embeddings. Default 0.01.
  float init_stddev = 0.01f;
  // Worker threads; 0 = all cores.
  int32_t threads = 0;
  uint64_t seed = 1;

  ConfidenceParams confidence() const {
    return {confidence_scale, alpha, epsilon};
  }
};

// Called after every sweep with its number (1-based) and the weighted loss.
using ImplicitSweepCallback =
    std::function<void(int32_t sweep, double loss, double seconds)>;

// Trains on `ratings` (indices < num_users / num_items). Errors:
// InvalidArgument for bad options, empty input or out-of-range indices.
// `from`, when not null, is where training starts instead of random
// embeddings (warm_start.h: its users and items are the leading rows;
// InvalidArgument when its shape does not fit).
absl::StatusOr<RetrievalModel> TrainImplicitAls(
    int32_t num_users, int32_t num_items, absl::Span<const Rating> ratings,
    const ImplicitAlsOptions& options,
    const ImplicitSweepCallback& on_sweep = {},
    const RetrievalModel* from = nullptr);

// The objective above, including each row's frequency-scaled penalty, for
// the given embeddings (for tests and progress). Indices must be valid.
double ImplicitLoss(const FactorMatrix& users, const FactorMatrix& items,
                    absl::Span<const Rating> ratings,
                    const ImplicitAlsOptions& options);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_IMPLICIT_ALS_H_
