#include "core/model/attribute_map.h"

#include <cmath>
#include <vector>

#include "core/base/random_stream.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

struct Problem {
  AttributeMatrix x;
  FactorMatrix targets;
  FactorMatrix truth;  // (d + 1) x width, last row the intercept
};

// Random sparse binary rows (each attribute present with probability
// `density`), targets = x W* + b + noise.
Problem MakeProblem(int32_t n, int32_t d, int32_t width, double density,
                    double noise, uint64_t seed) {
  RandomStream random(seed);
  Problem p;
  p.x.num_attributes = d;
  p.truth.resize(d + 1, width);
  for (int32_t a = 0; a <= d; ++a) {
    for (int32_t j = 0; j < width; ++j) p.truth(a, j) = random.Normal();
  }
  p.targets.resize(n, width);
  AttributeRow row;
  for (int32_t r = 0; r < n; ++r) {
    row.index.clear();
    row.value.clear();
    for (int32_t a = 0; a < d; ++a) {
      if (random.Uniform() < density) {
        row.index.push_back(a);
        row.value.push_back(1.0f);
      }
    }
    p.x.Append(row);
    for (int32_t j = 0; j < width; ++j) {
      double y = p.truth(d, j) + noise * random.Normal();
      for (const int32_t a : row.index) y += p.truth(a, j);
      p.targets(r, j) = static_cast<float>(y);
    }
  }
  return p;
}

TEST(AttributeMatrixTest, AppendBuildsCsr) {
  AttributeMatrix x;
  x.num_attributes = 5;
  x.Append({{0, 3}, {1.0f, 0.5f}});
  x.Append({});
  x.Append({{4}, {2.0f}});
  EXPECT_EQ(x.rows(), 3);
  EXPECT_EQ(x.offsets, (std::vector<int64_t>{0, 2, 2, 3}));
  EXPECT_EQ(x.indices, (std::vector<int32_t>{0, 3, 4}));
  EXPECT_EQ(x.values, (std::vector<float>{1.0f, 0.5f, 2.0f}));
}

TEST(AttributeMapTest, ApplyAddsWeightedRowsToTheInterceptIgnoringBadIndices) {
  AttributeMap map;
  map.weights.resize(3, 2);
  map.weights << 1, 2,  //
      10, 20,           //
      100, 200;         // intercept
  EXPECT_EQ(map.num_attributes(), 2);
  EXPECT_EQ(map.width(), 2);
  std::vector<float> out(2);
  map.Apply({{0, 1, 7, -1}, {2.0f, 0.5f, 9.0f, 9.0f}}, absl::MakeSpan(out));
  EXPECT_FLOAT_EQ(out[0], 100 + 2 * 1 + 0.5f * 10);
  EXPECT_FLOAT_EQ(out[1], 200 + 2 * 2 + 0.5f * 20);
  map.Apply({}, absl::MakeSpan(out));
  EXPECT_FLOAT_EQ(out[0], 100);
  EXPECT_FLOAT_EQ(out[1], 200);
}

TEST(FitAttributeMapTest, RecoversAKnownLinearMap) {
  const Problem p = MakeProblem(/*n=*/3000, /*d=*/40, /*width=*/8,
                                /*density=*/0.15, /*noise=*/0.05, 7);
  AttributeMapOptions options;
  options.reg_grid = {0.01f, 0.1f, 1.0f, 10.0f, 100.0f};
  auto fit = FitAttributeMap(p.x, p.targets, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_EQ(fit->map.num_attributes(), 40);
  ASSERT_EQ(fit->map.width(), 8);
  EXPECT_EQ(fit->holdout_rows, 300);
  ASSERT_EQ(fit->trials.size(), 5u);
  for (size_t t = 0; t < fit->trials.size(); ++t) {
    EXPECT_EQ(fit->trials[t].reg, options.reg_grid[t]);
  }
  EXPECT_LE(fit->map.reg, 1.0f);
  // Weights and intercept close to the truth.
  EXPECT_LT((fit->map.weights - p.truth).cwiseAbs().maxCoeff(), 0.05);
  // Held-out error near the noise (0.05² = 0.0025), far below the mean's.
  double best = fit->trials[0].holdout_mse;
  for (const auto& t : fit->trials) best = std::min(best, t.holdout_mse);
  EXPECT_LT(best, 0.005);
  EXPECT_GT(fit->holdout_mse_of_mean, 100 * best);
}

TEST(FitAttributeMapTest, ChoosesAStrongerRegWhenDataAreFewAndNoisy) {
  AttributeMapOptions options;
  options.reg_grid = {0.01f, 0.1f, 1.0f, 10.0f, 100.0f, 1000.0f};
  options.holdout_fraction = 0.3;
  const Problem clean = MakeProblem(2000, 30, 4, 0.2, 0.01, 3);
  auto clean_fit = FitAttributeMap(clean.x, clean.targets, options);
  ASSERT_TRUE(clean_fit.ok()) << clean_fit.status();
  // 40 rows for 30 attributes, noise 3x the signal's scale.
  const Problem noisy = MakeProblem(40, 30, 4, 0.2, 3.0, 3);
  auto noisy_fit = FitAttributeMap(noisy.x, noisy.targets, options);
  ASSERT_TRUE(noisy_fit.ok()) << noisy_fit.status();
  EXPECT_GT(noisy_fit->map.reg, clean_fit->map.reg);
  EXPECT_GE(noisy_fit->map.reg, 10.0f);
}

TEST(FitAttributeMapTest, DeterministicForASeedWhateverTheThreads) {
  const Problem p = MakeProblem(500, 25, 5, 0.2, 0.5, 11);
  AttributeMapOptions options;
  options.threads = 1;
  auto a = FitAttributeMap(p.x, p.targets, options);
  options.threads = 3;
  auto b = FitAttributeMap(p.x, p.targets, options);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->map.weights, b->map.weights);
  EXPECT_EQ(a->map.reg, b->map.reg);
  ASSERT_EQ(a->trials.size(), b->trials.size());
  for (size_t t = 0; t < a->trials.size(); ++t) {
    EXPECT_EQ(a->trials[t].holdout_mse, b->trials[t].holdout_mse);
  }
  EXPECT_EQ(a->holdout_mse_of_mean, b->holdout_mse_of_mean);
  // Another seed holds out other rows.
  options.seed = 2;
  auto c = FitAttributeMap(p.x, p.targets, options);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->holdout_mse_of_mean, c->holdout_mse_of_mean);
}

TEST(FitAttributeMapTest, RowsOfWeightZeroDoNotAffectTheFit) {
  const Problem p = MakeProblem(400, 20, 3, 0.2, 0.3, 5);
  // The same rows plus 200 rows of garbage with weight 0, interleaved.
  const Problem garbage = MakeProblem(200, 20, 3, 0.5, 50.0, 6);
  AttributeMatrix x;
  x.num_attributes = 20;
  FactorMatrix targets(600, 3);
  std::vector<float> weights;
  int32_t clean = 0, bad = 0;
  for (int32_t r = 0; r < 600; ++r) {
    const bool is_bad = r % 3 == 1;
    const Problem& from = is_bad ? garbage : p;
    const int32_t i = is_bad ? bad++ : clean++;
    AttributeRow row;
    for (int64_t k = from.x.offsets[i]; k < from.x.offsets[i + 1]; ++k) {
      row.index.push_back(from.x.indices[k]);
      row.value.push_back(from.x.values[k]);
    }
    x.Append(row);
    targets.row(r) = from.targets.row(i);
    weights.push_back(is_bad ? 0.0f : 1.0f);
  }
  AttributeMapOptions options;
  auto plain = FitAttributeMap(p.x, p.targets, options);
  options.row_weights = weights;
  auto weighted = FitAttributeMap(x, targets, options);
  ASSERT_TRUE(plain.ok() && weighted.ok());
  EXPECT_EQ(weighted->map.reg, plain->map.reg);
  EXPECT_EQ(weighted->holdout_rows, plain->holdout_rows);
  EXPECT_LT((weighted->map.weights - plain->map.weights).cwiseAbs().maxCoeff(),
            1e-5);
}

TEST(FitAttributeMapTest, HeavierRowsPullTheIntercept) {
  // No attributes: the map is the weighted mean.
  AttributeMatrix x;
  x.num_attributes = 0;
  for (int i = 0; i < 4; ++i) x.Append({});
  FactorMatrix targets(4, 1);
  targets << 0, 0, 0, 10;
  AttributeMapOptions options;
  options.row_weights = {1, 1, 1, 7};
  auto fit = FitAttributeMap(x, targets, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_EQ(fit->map.num_attributes(), 0);
  EXPECT_NEAR(fit->map.weights(0, 0), 7.0, 1e-5);
}

TEST(FitAttributeMapTest, BadInputsAreInvalidArgument) {
  const Problem p = MakeProblem(20, 4, 2, 0.5, 0.1, 1);
  const auto expect_error = [](const absl::StatusOr<AttributeMapFit>& fit,
                               const std::string& message) {
    ASSERT_FALSE(fit.ok()) << message;
    EXPECT_EQ(fit.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(fit.status().message(), HasSubstr(message));
  };
  AttributeMapOptions options;
  expect_error(FitAttributeMap(p.x, p.targets.topRows(19), options),
               "targets have 19 rows, the attribute matrix 20");
  expect_error(FitAttributeMap(p.x, FactorMatrix(20, 0), options),
               "no columns");
  FactorMatrix nan = p.targets;
  nan(3, 1) = std::nanf("");
  expect_error(FitAttributeMap(p.x, nan, options), "not finite");
  AttributeMatrix one;
  one.num_attributes = 4;
  one.Append({{1}, {1.0f}});
  expect_error(FitAttributeMap(one, p.targets.topRows(1), options),
               "at least 2 rows");
  AttributeMatrix bad_index = p.x;
  bad_index.num_attributes = 2;
  expect_error(FitAttributeMap(bad_index, p.targets, options),
               "not ascending in [0, 2)");
  AttributeMatrix broken = p.x;
  broken.offsets[1] = 1000;
  expect_error(FitAttributeMap(broken, p.targets, options),
               "offsets are not ascending at row 0");
  broken = p.x;
  broken.values.pop_back();
  expect_error(FitAttributeMap(broken, p.targets, options), "disagree");
  for (const std::vector<float>& grid :
       {std::vector<float>{}, std::vector<float>{1.0f, 0.0f},
        std::vector<float>{-1.0f}}) {
    AttributeMapOptions o;
    o.reg_grid = grid;
    expect_error(FitAttributeMap(p.x, p.targets, o), "reg_grid");
  }
  AttributeMapOptions fraction;
  fraction.holdout_fraction = 1.0;
  expect_error(FitAttributeMap(p.x, p.targets, fraction), "holdout_fraction");
  AttributeMapOptions weights;
  weights.row_weights = {1.0f, 2.0f};
  expect_error(FitAttributeMap(p.x, p.targets, weights),
               "row_weights has 2 values for 20 rows");
  weights.row_weights.assign(20, 1.0f);
  weights.row_weights[5] = -1.0f;
  expect_error(FitAttributeMap(p.x, p.targets, weights), "row_weights holds");
  weights.row_weights.assign(20, 0.0f);
  weights.row_weights[5] = 1.0f;
  expect_error(FitAttributeMap(p.x, p.targets, weights), "at least 2 rows");
}

TEST(FitAttributeMapTest, TwoRowsAreEnough) {
  AttributeMatrix x;
  x.num_attributes = 1;
  x.Append({{0}, {1.0f}});
  x.Append({});
  FactorMatrix targets(2, 1);
  targets << 1, 3;
  auto fit = FitAttributeMap(x, targets, {});
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_EQ(fit->holdout_rows, 1);
  EXPECT_TRUE(fit->map.weights.allFinite());
}

}  // namespace
}  // namespace recserve
