#include "core/model/conjugate_gradient.h"

#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "core/model/implicit_row_solver.h"
#include "core/model/row_least_squares.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

// A random k×k SPD matrix with eigenvalues spread evenly on a log scale
// from 1 to `condition`, and a random right-hand side, in double.
struct System {
  Eigen::MatrixXd a;
  Eigen::VectorXd b;
};
System RandomSystem(int k, double condition, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd m(k, k);
  for (int i = 0; i < k; ++i) {
    for (int j = 0; j < k; ++j) m(i, j) = normal(rng);
  }
  const Eigen::MatrixXd q =
      Eigen::HouseholderQR<Eigen::MatrixXd>(m).householderQ() *
      Eigen::MatrixXd::Identity(k, k);
  Eigen::VectorXd eigenvalues(k);
  for (int i = 0; i < k; ++i) {
    eigenvalues[i] = std::pow(condition, k == 1 ? 0.0 : double(i) / (k - 1));
  }
  System s;
  s.a = q * eigenvalues.asDiagonal() * q.transpose();
  s.b.resize(k);
  for (int i = 0; i < k; ++i) s.b[i] = normal(rng);
  return s;
}

// Runs ConjugateGradient in float on the system from x (zero by default).
Eigen::VectorXf RunCg(const System& s, int32_t steps,
                      Eigen::VectorXf x = Eigen::VectorXf()) {
  const Eigen::MatrixXf a = s.a.cast<float>();
  if (x.size() == 0) x = Eigen::VectorXf::Zero(a.rows());
  CgScratch scratch;
  scratch.r = s.b.cast<float>() - a * x;
  ConjugateGradient([&](const Eigen::VectorXf& p,
                        Eigen::VectorXf& out) { out.noalias() = a * p; },
                    steps, &scratch, x);
  return x;
}

double RelativeError(const Eigen::VectorXf& x, const Eigen::VectorXd& exact) {
  return (x.cast<double>() - exact).norm() / exact.norm();
}

// Against the double Cholesky solve: k steps solve a well-conditioned k×k
// system (condition 10) to float precision (relative error < 1e-5). At
// condition 1e4 float CG loses conjugacy, so k steps fall short; 4k steps
// reach float's epsilon times the condition, ~1e-3 (how close depends on
// the compiler's rounding, which differs in the sanitizer builds).
TEST(ConjugateGradientTest, MatchesTheCholeskySolveOnRandomSpdSystems) {
  for (const int k : {8, 32, 128}) {
    const System well = RandomSystem(k, 10.0, 100 + k);
    const Eigen::VectorXd exact_well = well.a.llt().solve(well.b);
    EXPECT_LT(RelativeError(RunCg(well, k), exact_well), 1e-5) << "k " << k;

    const System ill = RandomSystem(k, 1e4, 200 + k);
    const Eigen::VectorXd exact_ill = ill.a.llt().solve(ill.b);
    EXPECT_LT(RelativeError(RunCg(ill, 4 * k), exact_ill), 1e-3) << "k " << k;
  }
}

// CG minimizes the A-norm of the error over a growing Krylov space: each of
// the first few steps lowers it, from any start.
TEST(ConjugateGradientTest, EachStepLowersTheErrorInTheANorm) {
  for (const int k : {8, 32, 128}) {
    for (const double condition : {10.0, 1e4}) {
      const System s = RandomSystem(k, condition, 300 + k);
      const Eigen::VectorXd exact = s.a.llt().solve(s.b);
      const auto a_norm = [&](const Eigen::VectorXf& x) {
        const Eigen::VectorXd e = x.cast<double>() - exact;
        return std::sqrt(e.dot(s.a * e));
      };
      Eigen::VectorXf start = Eigen::VectorXf::Ones(k);
      double previous = a_norm(start);
      for (int32_t steps = 1; steps <= 6; ++steps) {
        const double now = a_norm(RunCg(s, steps, start));
        EXPECT_LT(now, previous)
            << "k " << k << " condition " << condition << " steps " << steps;
        previous = now;
      }
    }
  }
}

TEST(ConjugateGradientTest, StopsAtTheSolutionWithoutDividingByZero) {
  const System s = RandomSystem(8, 10.0, 5);
  const Eigen::VectorXd exact = s.a.llt().solve(s.b);
  // From the exact answer the residual is rounding noise; CG must not move
  // far or produce NaN.
  const Eigen::VectorXf x = RunCg(s, 20, exact.cast<float>());
  EXPECT_TRUE(x.allFinite());
  EXPECT_LT(RelativeError(x, exact), 1e-5);
  // A zero right-hand side from zero: zero steps, x stays zero.
  System zero = s;
  zero.b.setZero();
  EXPECT_TRUE(RunCg(zero, 5).isZero());
}

FactorMatrix RandomRows(int rows, int k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  FactorMatrix m(rows, k);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < k; ++c) m(r, c) = normal(rng);
  }
  return m;
}

// RowLeastSquares::SolveByCg run to 2(k+1) steps is the Cholesky solve of
// the gram Build forms.
TEST(ConjugateGradientTest, RowLeastSquaresByCgMatchesItsCholeskySolve) {
  const int k = 8;
  const FactorMatrix items = RandomRows(50, k, 3);
  Eigen::VectorXf bias(50);
  for (int i = 0; i < 50; ++i) bias[i] = 0.1f * (i % 7) - 0.3f;
  const std::vector<int32_t> cols = {4, 9, 0, 33, 17, 48, 21, 5, 12, 40, 2};
  std::vector<float> values;
  for (size_t j = 0; j < cols.size(); ++j) values.push_back(1.0f + j % 5);
  const float count = static_cast<float>(cols.size());
  Eigen::VectorXf diagonal = Eigen::VectorXf::Constant(k + 1, 0.1f * count);
  diagonal[k] = 0.02f * count;

  RowLeastSquares ls;
  ls.Build(cols, values, items, bias, 3.5f);
  Eigen::MatrixXd gram = ls.gram.cast<double>();
  gram.diagonal() += diagonal.cast<double>();
  const Eigen::VectorXd exact =
      gram.selfadjointView<Eigen::Lower>().llt().solve(ls.rhs.cast<double>());

  Eigen::VectorXf x = Eigen::VectorXf::Zero(k + 1);
  ls.Gather(cols, values, items, bias, 3.5f);
  EXPECT_GE(ls.SolveByCg(diagonal, 2 * (k + 1), x), k + 1);
  EXPECT_LT(RelativeError(x, exact), 1e-4);
  // Warm-started from the answer, a few more steps keep it.
  ls.SolveByCg(diagonal, 3, x);
  EXPECT_LT(RelativeError(x, exact), 1e-4);
}

// ImplicitRowSolver::SolveByCg run to k steps is its exact Solve, with
// negatives and a frequency-scaled regularization.
TEST(ConjugateGradientTest, ImplicitRowByCgMatchesTheExactSolve) {
  for (const int k : {8, 32}) {
    const FactorMatrix items = RandomRows(200, k, 11 + k);
    const ImplicitRowSolver solver(items,
                                   {.reg = 0.5f, .unobserved_weight = 0.3f});
    std::vector<int32_t> rated;
    std::vector<float> confidences, preferences;
    for (int j = 0; j < 60; ++j) {
      rated.push_back((j * 37) % 200);
      confidences.push_back(1.0f + 0.5f * (j % 9));
      preferences.push_back(j % 5 == 0 ? 0.0f : 1.0f);
    }
    ImplicitRowSolver::Scratch scratch;
    Eigen::RowVectorXf exact(k);
    solver.Solve(rated, confidences, &scratch, exact, preferences, 1.7f);
    Eigen::RowVectorXf x = Eigen::RowVectorXf::Zero(k);
    solver.SolveByCg(rated, confidences, k, &scratch, x, preferences, 1.7f);
    EXPECT_LT((x - exact).norm() / exact.norm(), 1e-4) << "k " << k;
    // From the exact answer, three steps stay there.
    x = exact;
    solver.SolveByCg(rated, confidences, 3, &scratch, x, preferences, 1.7f);
    EXPECT_LT((x - exact).norm() / exact.norm(), 1e-5) << "k " << k;
  }
}

}  // namespace
}  // namespace recserve
