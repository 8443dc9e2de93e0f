#include "core/model/implicit_row_solver.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/model/prefetch.h"

namespace recserve {

ImplicitRowSolver::ImplicitRowSolver(Eigen::Map<const FactorMatrix> other,
                                     const ImplicitRowParams& params)
    : other_(other), params_(params) {
  const Eigen::Index k = other_.cols();
  base_ = Eigen::MatrixXf::Zero(k, k);
  base_.selfadjointView<Eigen::Lower>().rankUpdate(other_.transpose(),
                                                   params_.unobserved_weight);
  base_.diagonal().array() += params_.reg;
  // Both triangles, for SolveByCg's plain (vectorized) product.
  base_.triangularView<Eigen::StrictlyUpper>() = base_.transpose();
}

void ImplicitRowSolver::Solve(absl::Span<const int32_t> rows,
                              absl::Span<const float> confidences, Scratch* s,
                              Eigen::Ref<Eigen::RowVectorXf> out,
                              absl::Span<const float> preferences,
                              float reg_scale) const {
  Form(rows, confidences, s, preferences, reg_scale);
  s->llt.compute(s->a);
  s->x = s->b;
  s->llt.solveInPlace(s->x);
  out = s->x.transpose();
}

int32_t ImplicitRowSolver::SolveByCg(absl::Span<const int32_t> rows,
                                     absl::Span<const float> confidences,
                                     int32_t steps, Scratch* s,
                                     Eigen::Ref<Eigen::RowVectorXf> x,
                                     absl::Span<const float> preferences,
                                     float reg_scale) const {
  Gather(rows, confidences, s, preferences);
  const float extra_reg = params_.reg * (reg_scale - 1.0f);
  const bool rated = s->gathered.rows() > 0;
  // A·v into out, without forming A.
  const auto apply = [&](const Eigen::VectorXf& v, Eigen::VectorXf& out) {
    out.noalias() = base_ * v;
    if (extra_reg != 0.0f) out += extra_reg * v;
    if (rated) {
      s->projected.noalias() = s->gathered * v;
      out.noalias() += s->gathered.transpose() * s->projected;
    }
  };
  s->x = x.transpose();
  apply(s->x, s->cg.r);
  s->cg.r = s->b - s->cg.r;
  const int32_t ran = ConjugateGradient(apply, steps, &s->cg, s->x);
  x = s->x.transpose();
  return ran;
}

void ImplicitRowSolver::Form(absl::Span<const int32_t> rows,
                             absl::Span<const float> confidences, Scratch* s,
                             absl::Span<const float> preferences,
                             float reg_scale) const {
  Gather(rows, confidences, s, preferences);
  s->a = base_;
  if (reg_scale != 1.0f) {
    s->a.diagonal().array() += params_.reg * (reg_scale - 1.0f);
  }
  if (s->gathered.rows() > 0) {
    s->a.selfadjointView<Eigen::Lower>().rankUpdate(s->gathered.transpose());
  }
}

void ImplicitRowSolver::Gather(absl::Span<const int32_t> rows,
                               absl::Span<const float> confidences, Scratch* s,
                               absl::Span<const float> preferences) const {
  assert(rows.size() == confidences.size());
  assert(preferences.empty() || preferences.size() == rows.size());
  const Eigen::Index k = other_.cols();
  const int64_t n = static_cast<int64_t>(rows.size());
  s->b.setZero(k);
  s->gathered.resize(n, k);
  for (int64_t j = 0; j < n; ++j) {
    if (j + kGatherAhead < n) {
      PrefetchRow(other_.row(rows[j + kGatherAhead]).data(), k);
    }
    const float confidence = confidences[j];
    // Rows scaled by sqrt(c − w0) make one SYRK add Σ (c − w0) o oᵀ, and
    // G·v, Gᵀ(G·v) the same sum applied to v.
    const float weight =
        std::sqrt(std::max(0.0f, confidence - params_.unobserved_weight));
    s->gathered.row(j) = other_.row(rows[j]) * weight;
    const float preference = preferences.empty() ? 1.0f : preferences[j];
    if (preference != 0.0f) {
      s->b.noalias() +=
          (confidence * preference) * other_.row(rows[j]).transpose();
    }
  }
}

}  // namespace recserve
