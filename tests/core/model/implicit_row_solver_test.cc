#include "core/model/implicit_row_solver.h"

#include <Eigen/Dense>
#include <random>
#include <vector>

#include "core/model/confidence.h"
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

// The objective with preferences and a scaled penalty written cell by cell,
// in double: an observed row j weighs confidence_of_row[j] with target
// preference_of_row[j]; every other row w0 and target 0; the penalty is
// reg · reg_scale.
Eigen::VectorXd DenseSolutionWithPreferences(
    const FactorMatrix& other, const std::vector<float>& confidence_of_row,
    const std::vector<float>& preference_of_row,
    const ImplicitRowParams& params, double reg_scale) {
  const int k = static_cast<int>(other.cols());
  Eigen::MatrixXd a = params.reg * reg_scale * Eigen::MatrixXd::Identity(k, k);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
  for (int j = 0; j < other.rows(); ++j) {
    const Eigen::VectorXd o = other.row(j).transpose().cast<double>();
    const bool observed = confidence_of_row[j] > 0;
    const double w = observed ? confidence_of_row[j] : params.unobserved_weight;
    a += w * o * o.transpose();
    if (observed) b += w * preference_of_row[j] * o;
  }
  return a.ldlt().solve(b);
}

TEST(ImplicitRowSolverTest, PreferencesAndRegScaleMatchTheDenseObjective) {
  const FactorMatrix items = RandomRows(30, 6, 11);
  const ImplicitRowParams params{.reg = 0.8f, .unobserved_weight = 0.25f};
  const ImplicitRowSolver solver(items, params);
  const std::vector<int32_t> observed = {2, 29, 7, 13, 0, 21};
  const std::vector<float> confidences = {3.0f, 1.5f, 8.0f, 2.0f, 1.0f, 5.0f};
  // Two negatives (preference 0) among positives.
  const std::vector<float> preferences = {1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f};
  std::vector<float> confidence_of_row(items.rows(), 0.0f);
  std::vector<float> preference_of_row(items.rows(), 0.0f);
  for (size_t j = 0; j < observed.size(); ++j) {
    confidence_of_row[observed[j]] = confidences[j];
    preference_of_row[observed[j]] = preferences[j];
  }
  const float reg_scale =
      FrequencyRegScale(static_cast<int64_t>(observed.size()),
                        params.unobserved_weight, items.rows(), 1.0f);
  // (6 + 0.25·30) / (0.25·30) = 1.8.
  EXPECT_NEAR(reg_scale, 1.8f, 1e-6);
  ImplicitRowSolver::Scratch scratch;
  Eigen::RowVectorXf x(6);
  solver.Solve(observed, confidences, &scratch, x, preferences, reg_scale);
  const Eigen::VectorXd expected = DenseSolutionWithPreferences(
      items, confidence_of_row, preference_of_row, params, reg_scale);
  for (int c = 0; c < 6; ++c) EXPECT_NEAR(x[c], expected[c], 1e-4) << c;
  // The negatives matter: all-positive preferences give another answer, as
  // does the unscaled penalty.
  Eigen::RowVectorXf positive(6), unscaled(6);
  solver.Solve(observed, confidences, &scratch, positive);
  solver.Solve(observed, confidences, &scratch, unscaled, preferences);
  EXPECT_GT((positive - x).norm(), 1e-3);
  EXPECT_GT((unscaled - x).norm(), 1e-4);
  const Eigen::VectorXd expected_unscaled = DenseSolutionWithPreferences(
      items, confidence_of_row, preference_of_row, params, 1.0);
  for (int c = 0; c < 6; ++c) {
    EXPECT_NEAR(unscaled[c], expected_unscaled[c], 1e-4) << c;
  }
  // A negative's score is pushed below what the positive would give it.
  EXPECT_LT(x.dot(items.row(29)), positive.dot(items.row(29)));
}

TEST(ImplicitRowSolverTest, OnlyNegativesGiveTheZeroVector) {
  // Every target is 0: the right-hand side vanishes.
  const FactorMatrix items = RandomRows(10, 3, 5);
  const ImplicitRowSolver solver(items, {});
  ImplicitRowSolver::Scratch scratch;
  Eigen::RowVectorXf x = Eigen::RowVectorXf::Ones(3);
  solver.Solve(std::vector<int32_t>{1, 2}, std::vector<float>{4.0f, 2.0f},
               &scratch, x, std::vector<float>{0.0f, 0.0f}, 2.0f);
  EXPECT_EQ(x, Eigen::RowVectorXf::Zero(3));
}

TEST(ImplicitRowSolverTest, FrequencyRegScaleIsOneForAnEmptyRowOrExponentZero) {
  EXPECT_EQ(FrequencyRegScale(0, 0.5f, 100, 1.0f), 1.0f);
  EXPECT_EQ(FrequencyRegScale(40, 0.5f, 100, 0.0f), 1.0f);
  // (40 + 50) / 50 = 1.8, squared for exponent 2.
  EXPECT_NEAR(FrequencyRegScale(40, 0.5f, 100, 2.0f), 3.24f, 1e-5);
}

}  // namespace
}  // namespace recserve
