#ifndef RECSERVE_CORE_MODEL_IMPLICIT_ROW_SOLVER_H_
#define RECSERVE_CORE_MODEL_IMPLICIT_ROW_SOLVER_H_

// One row of the retrieval model's least-squares problem (Hu, Koren and
// Volinsky 2008), the step implicit ALS trains with and the step that folds
// a user's interactions in at request time: given the other side's
// embeddings O (item embeddings for a user row), find x minimizing
//   Σ_all w0 (0 − x·o)² + Σ_rated c_j (p_j − x·o_j)² − Σ_rated w0 (0 − x·o_j)²
//   + reg |x|²,
// that is, solve
//   (w0·OᵀO + Σ_rated (c_j − w0) o_j o_jᵀ + reg·I) x = Σ_rated c_j p_j o_j,
// with preference p_j = 1 for a positive interaction and 0 for a negative
// one (confidence.h).
// w0·OᵀO + reg·I is formed once per O (the Gramian trick), so a row costs
// O(n·k² + k³) for n rated entries, not O(|O|·k²).

#include <cmath>
#include <cstdint>

#include "Eigen/Cholesky"
#include "Eigen/Core"
#include "absl/types/span.h"
#include "core/model/conjugate_gradient.h"
#include "core/model/mf_model.h"

namespace recserve {

// The frequency-scaled regularization of Rendle et al. 2021 ("Revisiting
// the performance of iALS on item recommendation benchmarks"), as a factor
// on reg: a row with n rated entries against `other_rows` rows gets
//   reg · ((n + w0·other_rows) / (w0·other_rows))^exponent,
// their λ·(n + w0·|I|)^ν normalized so that a row without entries gets reg.
// exponent 0 is the constant regularization.
inline float FrequencyRegScale(int64_t n, float unobserved_weight,
                               int64_t other_rows, float exponent) {
  if (exponent == 0.0f) return 1.0f;
  const double unobserved =
      static_cast<double>(unobserved_weight) * static_cast<double>(other_rows);
  return static_cast<float>(
      std::pow((static_cast<double>(n) + unobserved) / unobserved, exponent));
}

struct ImplicitRowParams {
  // L2 penalty. Must be > 0.
  float reg = 10.0f;
  // Weight w0 of every unrated cell. Must be > 0.
  float unobserved_weight = 1.0f;
};

// Solves rows against one fixed `other` side: a matrix or a mapped one (a
// snapshot's). Copies nothing of `other`, which must outlive the solver and
// not change. Immutable after construction: Solve may be called from any
// number of threads, each with its own Scratch.
class ImplicitRowSolver final {
 public:
  // Per-thread working memory, reused across rows.
  struct Scratch {
    // The rated rows, each scaled by sqrt(c − w0); row-major so that a
    // gather is a contiguous copy.
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>
        gathered;
    Eigen::MatrixXf a;
    Eigen::VectorXf b;
    // Solve's factorization and SolveByCg's vectors, kept to reuse their
    // memory.
    Eigen::LLT<Eigen::MatrixXf, Eigen::Lower> llt;
    Eigen::VectorXf x;
    Eigen::VectorXf projected;
    CgScratch cg;
  };

  ImplicitRowSolver(Eigen::Map<const FactorMatrix> other,
                    const ImplicitRowParams& params);
  ImplicitRowSolver(const FactorMatrix& other, const ImplicitRowParams& params)
      : ImplicitRowSolver(Eigen::Map<const FactorMatrix>(
                              other.data(), other.rows(), other.cols()),
                          params) {}
  // A temporary would not outlive the solver.
  ImplicitRowSolver(FactorMatrix&& other, const ImplicitRowParams&) = delete;
  ImplicitRowSolver(const ImplicitRowSolver&) = delete;
  ImplicitRowSolver& operator=(const ImplicitRowSolver&) = delete;

  // Writes into `out` (other.cols() wide) the x of the problem above for the
  // rated entries `rows` of `other` with confidences `confidences` (same
  // length; any order; an entry may repeat, its terms then add). Entries
  // must index rows of `other`; confidences below w0 count as w0 in the
  // Gram term. `preferences` holds each entry's p_j (same length), or is
  // empty when every entry is positive. The row's regularization is
  // reg · reg_scale (FrequencyRegScale; 1 for constant). No entries gives
  // x = 0.
  void Solve(absl::Span<const int32_t> rows,
             absl::Span<const float> confidences, Scratch* scratch,
             Eigen::Ref<Eigen::RowVectorXf> out,
             absl::Span<const float> preferences = {},
             float reg_scale = 1.0f) const;
  // The same x approached by at most `steps` conjugate-gradient steps
  // (conjugate_gradient.h) started from `x`'s value on entry (the row's
  // previous iteration in ALS), each O(n·k + k²), without forming or
  // factorizing the k×k system: A·p = (w0·OᵀO + reg·I)·p + Σ_rated
  // (c_j − w0)(o_j·p) o_j. `steps` >= 1; returns the steps run.
  int32_t SolveByCg(absl::Span<const int32_t> rows,
                    absl::Span<const float> confidences, int32_t steps,
                    Scratch* scratch, Eigen::Ref<Eigen::RowVectorXf> x,
                    absl::Span<const float> preferences = {},
                    float reg_scale = 1.0f) const;
  // Only forms the system: scratch->a (lower triangle) and scratch->b of the
  // problem above, for callers that need more than x (explanations solve
  // against a as well).
  void Form(absl::Span<const int32_t> rows, absl::Span<const float> confidences,
            Scratch* scratch, absl::Span<const float> preferences = {},
            float reg_scale = 1.0f) const;

  int32_t dimensions() const { return static_cast<int32_t>(other_.cols()); }

 private:
  // Fills scratch->gathered and scratch->b.
  void Gather(absl::Span<const int32_t> rows,
              absl::Span<const float> confidences, Scratch* scratch,
              absl::Span<const float> preferences) const;

  Eigen::Map<const FactorMatrix> other_;
  ImplicitRowParams params_;
  Eigen::MatrixXf base_;  // w0·OᵀO + reg·I, both triangles
};

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_IMPLICIT_ROW_SOLVER_H_
