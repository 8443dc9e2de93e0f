#include "core/model/implicit_row_solver.h"

#include <Eigen/Cholesky>
#include <algorithm>
#include <cassert>
#include <cmath>

namespace recserve {

ImplicitRowSolver::ImplicitRowSolver(Eigen::Map<const FactorMatrix> other,
                                     const ImplicitRowParams& params)
    : other_(other), params_(params) {
  const Eigen::Index k = other_.cols();
  base_ = Eigen::MatrixXf::Zero(k, k);
  base_.selfadjointView<Eigen::Lower>().rankUpdate(other_.transpose(),
                                                   params_.unobserved_weight);
  base_.diagonal().array() += params_.reg;
}

void ImplicitRowSolver::Solve(absl::Span<const int32_t> rows,
                              absl::Span<const float> confidences, Scratch* s,
                              Eigen::Ref<Eigen::RowVectorXf> out,
                              absl::Span<const float> preferences,
                              float reg_scale) const {
  Form(rows, confidences, s, preferences, reg_scale);
  out = Eigen::LLT<Eigen::MatrixXf, Eigen::Lower>(s->a).solve(s->b).transpose();
}

void ImplicitRowSolver::Form(absl::Span<const int32_t> rows,
                             absl::Span<const float> confidences,
                             Scratch* s, absl::Span<const float> preferences,
                             float reg_scale) const {
  assert(rows.size() == confidences.size());
  assert(preferences.empty() || preferences.size() == rows.size());
  const Eigen::Index k = other_.cols();
  const int64_t n = static_cast<int64_t>(rows.size());
  s->a = base_;
  if (reg_scale != 1.0f) {
    s->a.diagonal().array() += params_.reg * (reg_scale - 1.0f);
  }
  s->b.setZero(k);
  if (n > 0) {
    s->gathered.resize(n, k);
    for (int64_t j = 0; j < n; ++j) {
      const float confidence = confidences[j];
      // Rows scaled by sqrt(c − w0) make one SYRK add Σ (c − w0) o oᵀ.
      const float weight =
          std::sqrt(std::max(0.0f, confidence - params_.unobserved_weight));
      s->gathered.row(j) = other_.row(rows[j]) * weight;
      const float preference = preferences.empty() ? 1.0f : preferences[j];
      if (preference != 0.0f) {
        s->b.noalias() +=
            (confidence * preference) * other_.row(rows[j]).transpose();
      }
    }
    s->a.selfadjointView<Eigen::Lower>().rankUpdate(s->gathered.transpose());
  }
}

}  // namespace recserve
