#include "core/model/implicit_row_solver.h"

#include "core/model/confidence.h"

#include <Eigen/Dense>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace recserve {
namespace {

FactorMatrix RandomRows(int rows, int k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  FactorMatrix m(rows, k);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < k; ++c) m(r, c) = normal(rng);
  }
  return m;
}

// The objective written cell by cell over every row of `other`: weight c_j
// and target 1 on a rated row, w0 and target 0 elsewhere; solved densely.
Eigen::RowVectorXf DenseSolution(const FactorMatrix& other,
                                 const std::vector<float>& confidence_of_row,
                                 const ImplicitRowParams& params) {
  const int k = static_cast<int>(other.cols());
  Eigen::MatrixXd a = params.reg * Eigen::MatrixXd::Identity(k, k);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
  for (int j = 0; j < other.rows(); ++j) {
    const Eigen::VectorXd o = other.row(j).transpose().cast<double>();
    const bool rated = confidence_of_row[j] > 0;
    const double w = rated ? confidence_of_row[j] : params.unobserved_weight;
    a += w * o * o.transpose();
    if (rated) b += w * o;
  }
  return a.ldlt().solve(b).transpose().cast<float>();
}

TEST(ImplicitRowSolverTest, MatchesTheObjectiveWrittenOutCellByCell) {
  const FactorMatrix items = RandomRows(40, 5, 7);
  const ImplicitRowParams params{.reg = 0.7f, .unobserved_weight = 0.4f};
  const ImplicitRowSolver solver(items, params);
  const std::vector<int32_t> rated = {3, 17, 0, 39, 22};
  const std::vector<float> confidences = {1.0f, 4.5f, 2.0f, 0.9f, 11.0f};
  std::vector<float> confidence_of_row(items.rows(), 0.0f);
  for (size_t j = 0; j < rated.size(); ++j) {
    confidence_of_row[rated[j]] = confidences[j];
  }
  ImplicitRowSolver::Scratch scratch;
  Eigen::RowVectorXf x(5);
  solver.Solve(rated, confidences, &scratch, x);
  const Eigen::RowVectorXf expected =
      DenseSolution(items, confidence_of_row, params);
  for (int c = 0; c < 5; ++c) EXPECT_NEAR(x[c], expected[c], 1e-4) << c;
  // The scratch is reusable: the same answer again.
  Eigen::RowVectorXf again(5);
  solver.Solve(rated, confidences, &scratch, again);
  EXPECT_EQ(x, again);
}

TEST(ImplicitRowSolverTest, AMappedMatrixSolvesAlike) {
  const FactorMatrix items = RandomRows(20, 4, 9);
  const Eigen::Map<const FactorMatrix> mapped(items.data(), items.rows(),
                                              items.cols());
  const ImplicitRowSolver owned(items, {});
  const ImplicitRowSolver viewed(mapped, {});
  ImplicitRowSolver::Scratch scratch;
  Eigen::RowVectorXf a(4), b(4);
  owned.Solve(std::vector<int32_t>{1, 4}, std::vector<float>{2.0f, 3.0f},
              &scratch, a);
  viewed.Solve(std::vector<int32_t>{1, 4}, std::vector<float>{2.0f, 3.0f},
               &scratch, b);
  EXPECT_EQ(a, b);
}

TEST(ImplicitRowSolverTest, NoInteractionsGiveTheZeroVector) {
  const FactorMatrix items = RandomRows(10, 3, 1);
  const ImplicitRowSolver solver(items, {});
  ImplicitRowSolver::Scratch scratch;
  Eigen::RowVectorXf x = Eigen::RowVectorXf::Ones(3);
  solver.Solve({}, {}, &scratch, x);
  EXPECT_EQ(x, Eigen::RowVectorXf::Zero(3));
}

TEST(ImplicitRowSolverTest, ARepeatedEntryCountsTwice) {
  const FactorMatrix items = RandomRows(12, 4, 3);
  const ImplicitRowParams params{.reg = 1.0f, .unobserved_weight = 1.0f};
  const ImplicitRowSolver solver(items, params);
  ImplicitRowSolver::Scratch scratch;
  Eigen::RowVectorXf twice(4), doubled(4), once(4);
  solver.Solve(std::vector<int32_t>{5, 5}, std::vector<float>{3.0f, 3.0f},
               &scratch, twice);
  solver.Solve(std::vector<int32_t>{5}, std::vector<float>{3.0f}, &scratch,
               once);
  // Two cells at c = 3 on the same row: weight w0 + 2(c − w0) = 5 and
  // right-hand side 2c·o = 6·o, which one cell at c = 5 cannot give (5·o).
  std::vector<float> confidence_of_row(items.rows(), 0.0f);
  confidence_of_row[5] = 5.0f;
  const Eigen::RowVectorXf five =
      DenseSolution(items, confidence_of_row, params);
  EXPECT_GT((twice - once).norm(), 1e-3);
  // x(twice) solves A x = 6 o with the same A as c = 5, whose x solves
  // A x = 5 o: the two are proportional, 6 : 5.
  for (int c = 0; c < 4; ++c)
    EXPECT_NEAR(twice[c], five[c] * 6.0f / 5.0f, 1e-4);
}

TEST(ImplicitRowSolverTest, ConfidenceOnBothScales) {
  const ConfidenceParams linear{ConfidenceScale::kLinear, 0.3f, 1.0f};
  EXPECT_FLOAT_EQ(Confidence(linear, 0.0f), 1.0f);
  EXPECT_FLOAT_EQ(Confidence(linear, 5.0f), 2.5f);
  const ConfidenceParams log{ConfidenceScale::kLog, 2.0f, 4.0f};
  EXPECT_FLOAT_EQ(Confidence(log, 0.0f), 1.0f);
  EXPECT_FLOAT_EQ(Confidence(log, 4.0f), 1.0f + 2.0f * std::log(2.0f));
}

}  // namespace
}  // namespace recserve
