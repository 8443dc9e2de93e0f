#ifndef RECSERVE_CORE_MODEL_CONJUGATE_GRADIENT_H_
#define RECSERVE_CORE_MODEL_CONJUGATE_GRADIENT_H_

// A few steps of the conjugate-gradient method on one small symmetric
// positive-definite system A x = b, started from the x given: the row solve
// of ALS by Takács, Pilászy and Tikk ("Applications of the conjugate
// gradient method for implicit feedback collaborative filtering", 2011).
// Warm-started from the previous iteration's row, a few steps per ALS
// iteration reach the quality of the exact solve at O(steps · cost of A·p)
// per row instead of forming and factorizing A. In exact arithmetic k steps
// solve a k×k system exactly and every step lowers the A-norm of the error;
// in float, a few steps are what ALS uses.

#include <Eigen/Core>
#include <cstdint>

namespace recserve {

// Working vectors for ConjugateGradient, owned by one thread and reused
// across rows (no allocation once they have the system's size).
struct CgScratch {
  Eigen::VectorXf r;   // residual b − A x
  Eigen::VectorXf p;   // search direction
  Eigen::VectorXf ap;  // A p
};

// Improves `x` (in: the start; out: the result) by at most `steps` steps of
// conjugate gradient on A x = b. scratch->r must hold b − A·x for the x
// passed in (callers form it in one pass with the rest of the system); it
// is overwritten. `apply(p, out)` must write A·p
// into `out` (an Eigen::VectorXf of x's size, already sized) for the
// symmetric positive-definite A. Stops early when the residual vanishes (to
// float precision) or A·p loses positive curvature. Returns the steps run.
// Deterministic: the same inputs give the same bits.
template <typename MatVec>
int32_t ConjugateGradient(const MatVec& apply, int32_t steps, CgScratch* s,
                          Eigen::Ref<Eigen::VectorXf> x) {
  Eigen::VectorXf& r = s->r;
  Eigen::VectorXf& p = s->p;
  Eigen::VectorXf& ap = s->ap;
  ap.resize(x.size());
  p = r;
  float rs = r.squaredNorm();
  // Below this the residual is float noise relative to the start: further
  // steps would only divide rounding errors.
  const float floor = rs * 1e-12f;
  int32_t step = 0;
  for (; step < steps; ++step) {
    if (!(rs > floor) || rs == 0.0f) break;
    apply(p, ap);
    const float curvature = p.dot(ap);
    if (!(curvature > 0.0f)) break;
    const float alpha = rs / curvature;
    x.noalias() += alpha * p;
    r.noalias() -= alpha * ap;
    const float next = r.squaredNorm();
    p = r + (next / rs) * p;
    rs = next;
  }
  return step;
}

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_CONJUGATE_GRADIENT_H_
