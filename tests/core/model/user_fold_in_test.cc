#include "core/model/user_fold_in.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include "core/data/ratings.h"
#include "core/train/implicit_als.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

FactorMatrix RandomMatrix(int32_t rows, int32_t cols, uint64_t seed,
                          float scale = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  FactorMatrix m(rows, cols);
  for (int32_t r = 0; r < rows; ++r) {
    for (int32_t c = 0; c < cols; ++c) m(r, c) = normal(rng);
  }
  return m;
}

Eigen::Map<const FactorMatrix> MapOf(const FactorMatrix& m) {
  return Eigen::Map<const FactorMatrix>(m.data(), m.rows(), m.cols());
}

// The item side of a small model, and a fold-in over it.
class UserFoldInTest : public ::testing::Test {
 protected:
  static constexpr int32_t kItems = 30;
  static constexpr int32_t kFactors = 4;
  static constexpr int32_t kEmbedding = 5;
  static constexpr float kGlobalMean = 3.4f;

  UserFoldInTest()
      : item_factors_(RandomMatrix(kItems, kFactors, 1, 0.5f)),
        item_embeddings_(RandomMatrix(kItems, kEmbedding, 2, 0.4f)) {
    std::mt19937_64 rng(3);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    item_bias_.resize(kItems);
    for (int32_t i = 0; i < kItems; ++i) item_bias_[i] = normal(rng);
  }

  std::unique_ptr<UserFoldIn> Make(const FoldInParams& params) const {
    return std::make_unique<UserFoldIn>(
        MapOf(item_factors_),
        Eigen::Map<const Eigen::VectorXf>(item_bias_.data(), kItems),
        kGlobalMean, MapOf(item_embeddings_), params);
  }

  static FoldInParams RidgeParams() {
    FoldInParams params;
    params.rating = RatingUserPrior::Ridge(kFactors, 0.08f, 0.02f);
    params.retrieval = {.reg = 2.0f, .alpha = 0.6f, .unobserved_weight = 0.7f};
    return params;
  }

  // BPMF-like: a non-zero mean, precisions not scaled by the count.
  static FoldInParams PriorParams() {
    FoldInParams params = RidgeParams();
    params.rating.mean = Eigen::VectorXf(kFactors + 1);
    params.rating.precision = Eigen::VectorXf(kFactors + 1);
    for (int32_t f = 0; f <= kFactors; ++f) {
      params.rating.mean[f] = 0.2f * static_cast<float>(f) - 0.3f;
      params.rating.precision[f] = 1.5f + 0.5f * static_cast<float>(f);
    }
    params.rating.scales_with_count = false;
    return params;
  }

  // The retrieval objective's minimizer, written out densely over every
  // item in double: Σ_i w_i (p_i − x·o_i)² + reg |x|², where a rated item
  // has p = 1 and w = its summed confidence (at least w0), others p = 0 and
  // w = w0.
  Eigen::VectorXd DenseRetrieval(const std::vector<UserInteraction>& xs,
                                 const RetrievalFoldInParams& r) const {
    std::vector<double> confidence(kItems, 0.0);
    std::vector<bool> rated(kItems, false);
    for (const UserInteraction& x : xs) {
      confidence[x.item] += (1.0 + double{r.alpha} * x.rating) * x.weight;
      rated[x.item] = true;
    }
    Eigen::MatrixXd a =
        Eigen::MatrixXd::Identity(kEmbedding, kEmbedding) * double{r.reg};
    Eigen::VectorXd b = Eigen::VectorXd::Zero(kEmbedding);
    for (int32_t i = 0; i < kItems; ++i) {
      const Eigen::VectorXd o =
          item_embeddings_.row(i).transpose().cast<double>();
      const double w =
          rated[i] ? std::max(confidence[i], double{r.unobserved_weight})
                   : double{r.unobserved_weight};
      a += w * o * o.transpose();
      if (rated[i]) b += confidence[i] * o;
    }
    return a.ldlt().solve(b);
  }

  // The rating model's MAP user [p, b] in double: Σ_rated w (t − y·x)² +
  // s·Σ_f prec_f (x_f − mean_f)², s = Σ w when scaled, else 1.
  Eigen::VectorXd DenseRating(const std::vector<UserInteraction>& xs,
                              const RatingUserPrior& prior) const {
    const int32_t d = kFactors + 1;
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(d, d);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(d);
    double count = 0.0;
    for (const UserInteraction& x : xs) {
      if (x.rating == 0.0f) continue;
      Eigen::VectorXd y(d);
      y.head(kFactors) = item_factors_.row(x.item).transpose().cast<double>();
      y[kFactors] = 1.0;
      const double t = double{x.rating} - kGlobalMean - item_bias_[x.item];
      a += x.weight * y * y.transpose();
      b += x.weight * t * y;
      count += x.weight;
    }
    const double s = prior.scales_with_count ? count : 1.0;
    for (int32_t f = 0; f < d; ++f) {
      a(f, f) += s * prior.precision[f];
      b[f] += s * prior.precision[f] * prior.mean[f];
    }
    return a.ldlt().solve(b);
  }

  static std::vector<UserInteraction> SomeInteractions() {
    return {{3, 4.0f, 1.0f},  {7, 2.0f, 1.0f},  {11, 5.0f, 1.0f},
            {12, 0.0f, 1.0f}, {20, 3.0f, 1.0f}, {25, 1.0f, 1.0f}};
  }

  static void ExpectNear(const Eigen::RowVectorXf& got,
                         const Eigen::VectorXd& want, double tol) {
    ASSERT_EQ(got.size(), want.size());
    for (Eigen::Index f = 0; f < want.size(); ++f) {
      EXPECT_NEAR(got[f], want[f], tol * (1.0 + std::abs(want[f])))
          << "component " << f;
    }
  }

  FactorMatrix item_factors_;
  FactorMatrix item_embeddings_;
  Eigen::VectorXf item_bias_;
};

TEST_F(UserFoldInTest, RetrievalEqualsTheDenseImplicitSolve) {
  const FoldInParams params = RidgeParams();
  const auto fold_in = Make(params);
  const std::vector<UserInteraction> xs = SomeInteractions();
  const FoldedInUser user = fold_in->FoldIn(xs);
  ExpectNear(user.embedding, DenseRetrieval(xs, params.retrieval), 1e-4);
  // The solve is not trivially zero.
  EXPECT_GT(user.embedding.norm(), 1e-3);
}

TEST_F(UserFoldInTest, RatingEqualsDenseRidgeScaledByCount) {
  const FoldInParams params = RidgeParams();
  const auto fold_in = Make(params);
  const std::vector<UserInteraction> xs = SomeInteractions();
  const FoldedInUser user = fold_in->FoldIn(xs);
  const Eigen::VectorXd want = DenseRating(xs, params.rating);
  ExpectNear(user.factors, want.head(kFactors), 1e-4);
  EXPECT_NEAR(user.bias, want[kFactors], 1e-4 * (1 + std::abs(want[kFactors])));
  EXPECT_EQ(user.rated, 5);
}

TEST_F(UserFoldInTest, RatingEqualsDensePosteriorWithUnscaledPrior) {
  const FoldInParams params = PriorParams();
  const auto fold_in = Make(params);
  const std::vector<UserInteraction> xs = SomeInteractions();
  const FoldedInUser user = fold_in->FoldIn(xs);
  const Eigen::VectorXd want = DenseRating(xs, params.rating);
  ExpectNear(user.factors, want.head(kFactors), 1e-4);
  EXPECT_NEAR(user.bias, want[kFactors], 1e-4 * (1 + std::abs(want[kFactors])));
  // Scaling the same prior by the count would give another answer: the
  // flag is honoured.
  RatingUserPrior scaled = params.rating;
  scaled.scales_with_count = true;
  const Eigen::VectorXd other = DenseRating(xs, scaled);
  EXPECT_GT((want - other).norm(), 1e-3);
}

std::vector<UserInteraction> Weighted() {
  return {{3, 4.0f, 3.0f}, {7, 2.0f, 1.0f}, {11, 5.0f, 2.0f}, {12, 0.0f, 2.0f}};
}
std::vector<UserInteraction> Repeated() {
  return {{3, 4.0f, 1.0f},  {3, 4.0f, 1.0f},  {3, 4.0f, 1.0f},
          {7, 2.0f, 1.0f},  {11, 5.0f, 1.0f}, {11, 5.0f, 1.0f},
          {12, 0.0f, 1.0f}, {12, 0.0f, 1.0f}};
}

TEST_F(UserFoldInTest, WeightsActLikeRepeatedRatings) {
  for (const FoldInParams& params : {RidgeParams(), PriorParams()}) {
    const auto fold_in = Make(params);
    const FoldedInUser a = fold_in->FoldIn(Weighted());
    const FoldedInUser b = fold_in->FoldIn(Repeated());
    EXPECT_TRUE(a.factors.isApprox(b.factors, 1e-4f))
        << a.factors << " vs " << b.factors;
    EXPECT_NEAR(a.bias, b.bias, 1e-4f);
    const Eigen::VectorXd want = DenseRating(Weighted(), params.rating);
    ExpectNear(a.factors, want.head(kFactors), 1e-4);
    EXPECT_NEAR(a.bias, want[kFactors], 1e-4 * (1 + std::abs(want[kFactors])));
    // The weighted retrieval row is the dense solve with confidence
    // (1 + alpha r) w.
    ExpectNear(a.embedding, DenseRetrieval(Weighted(), params.retrieval), 1e-4);
  }
}

// An item listed m times is m observations of one cell: its confidence is
// the sum, and the unobserved weight w0 is replaced once, not m times, so a
// weight-m interaction and m copies give the same embedding. (The serving
// path lists an item twice when a known user's training item is also a
// recent interaction.)
TEST_F(UserFoldInTest, RetrievalRepeatedItemActsLikeSummedWeight) {
  const FoldInParams params = RidgeParams();
  const auto fold_in = Make(params);
  const FoldedInUser a = fold_in->FoldIn(Weighted());
  const FoldedInUser b = fold_in->FoldIn(Repeated());
  ExpectNear(b.embedding, DenseRetrieval(Repeated(), params.retrieval), 1e-4);
  EXPECT_TRUE(a.embedding.isApprox(b.embedding, 1e-4f))
      << a.embedding << " vs " << b.embedding;
}

TEST_F(UserFoldInTest, UnratedInteractionsCountForRetrievalOnly) {
  const FoldInParams params = RidgeParams();
  const auto fold_in = Make(params);
  const std::vector<UserInteraction> rated = {{3, 4.0f, 1.0f}, {7, 2.0f, 1.0f}};
  std::vector<UserInteraction> with_unrated = rated;
  with_unrated.push_back({15, 0.0f, 1.0f});
  with_unrated.push_back({16, 0.0f, 2.0f});
  const FoldedInUser a = fold_in->FoldIn(rated);
  const FoldedInUser b = fold_in->FoldIn(with_unrated);
  EXPECT_EQ(a.factors, b.factors);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(b.rated, 2);
  EXPECT_GT((a.embedding - b.embedding).norm(), 1e-3f);
  ExpectNear(b.embedding, DenseRetrieval(with_unrated, params.retrieval), 1e-4);
}

TEST_F(UserFoldInTest, NoRatedInteractionGivesThePriorMean) {
  for (const FoldInParams& params : {RidgeParams(), PriorParams()}) {
    const auto fold_in = Make(params);
    for (const std::vector<UserInteraction>& xs :
         {std::vector<UserInteraction>{},
          std::vector<UserInteraction>{{4, 0.0f, 1.0f}, {9, 0.0f, 1.0f}}}) {
      const FoldedInUser user = fold_in->FoldIn(xs);
      EXPECT_EQ(user.rated, 0);
      ExpectNear(user.factors, params.rating.mean.head(kFactors).cast<double>(),
                 1e-5);
      EXPECT_NEAR(user.bias, params.rating.mean[kFactors], 1e-5);
      if (xs.empty()) {
        EXPECT_EQ(user.embedding.size(), kEmbedding);
        EXPECT_EQ(user.embedding.norm(), 0.0f);
      }
    }
  }
}

TEST_F(UserFoldInTest, ExplainRowsSumToTheRetrievalScore) {
  const FoldInParams params = RidgeParams();
  const auto fold_in = Make(params);
  std::vector<UserInteraction> xs = SomeInteractions();
  xs.push_back({3, 2.0f, 0.5f});  // a repeated item
  const FoldedInUser user = fold_in->FoldIn(xs);
  std::vector<int32_t> items(kItems);
  for (int32_t i = 0; i < kItems; ++i) items[i] = i;
  std::vector<int32_t> interacted;
  const Eigen::MatrixXf shares = fold_in->Explain(xs, items, &interacted);
  ASSERT_EQ(shares.rows(), kItems);
  // One column per distinct item, ascending: the repeated item once.
  std::vector<int32_t> distinct;
  for (const UserInteraction& x : xs) distinct.push_back(x.item);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  EXPECT_EQ(interacted, distinct);
  ASSERT_EQ(shares.cols(), static_cast<Eigen::Index>(distinct.size()));
  for (int32_t i = 0; i < kItems; ++i) {
    const float score = user.embedding.dot(item_embeddings_.row(i));
    EXPECT_NEAR(shares.row(i).sum(), score, 1e-4f * (1 + std::abs(score)))
        << "item " << i;
  }
  // Items in a different order and a subset: rows follow `items`.
  const std::vector<int32_t> some = {29, 3, 0};
  const Eigen::MatrixXf subset = fold_in->Explain(xs, some);
  for (size_t r = 0; r < some.size(); ++r) {
    EXPECT_TRUE(subset.row(r).isApprox(shares.row(some[r]), 1e-5f));
  }
}

TEST_F(UserFoldInTest, ExplainOfNothingIsEmpty) {
  const auto fold_in = Make(RidgeParams());
  const std::vector<UserInteraction> xs = SomeInteractions();
  std::vector<int32_t> interacted;
  const Eigen::MatrixXf no_items = fold_in->Explain(xs, {}, &interacted);
  EXPECT_EQ(no_items.rows(), 0);
  EXPECT_EQ(no_items.cols(), static_cast<Eigen::Index>(interacted.size()));
  const std::vector<int32_t> items = {0, 1};
  const Eigen::MatrixXf no_interactions = fold_in->Explain({}, items);
  EXPECT_EQ(no_interactions.rows(), 2);
  EXPECT_EQ(no_interactions.cols(), 0);
}

// Recency weighting: each cell's rating times its factor among the user's
// cells (recency_factors.h), ranked by the cell's latest time; the rating
// model ignores time.
TEST_F(UserFoldInTest, RecencyScalesEachCellByItsRank) {
  FoldInParams params = RidgeParams();
  params.retrieval.recency_weight = 4.0f;
  params.retrieval.recency_horizon = 1.5f;
  const auto fold_in = Make(params);
  // Item 3 twice: its cell is at its latest time, 50, the latest of all;
  // items 11 and 12 at the same time share a rank.
  const std::vector<UserInteraction> xs = {
      {.item = 3, .rating = 4.0f, .weight = 1.0f, .time = 10},
      {.item = 7, .rating = 2.0f, .weight = 2.0f, .time = 40},
      {.item = 11, .rating = 5.0f, .weight = 1.0f, .time = 20},
      {.item = 12, .rating = 0.0f, .weight = 1.0f, .time = 20},
      {.item = 3, .rating = 3.0f, .weight = 0.5f, .time = 50}};
  const auto factor = [](int rank) { return 1 + 4.0 * std::exp(-rank / 1.5); };
  const double mean = (factor(0) + factor(1) + 2 * factor(2)) / 4;
  const int ranks[] = {0, 1, 2, 2, 0};
  std::vector<UserInteraction> scaled = xs;
  for (size_t i = 0; i < xs.size(); ++i) {
    scaled[i].rating =
        static_cast<float>(xs[i].rating * factor(ranks[i]) / mean);
  }
  const FoldedInUser user = fold_in->FoldIn(xs);
  ExpectNear(user.embedding, DenseRetrieval(scaled, params.retrieval), 1e-4);

  const FoldedInUser plain = Make(RidgeParams())->FoldIn(xs);
  EXPECT_GT((user.embedding - plain.embedding).norm(), 1e-3f);
  EXPECT_EQ(user.factors, plain.factors);
  EXPECT_EQ(user.bias, plain.bias);

  // Explain forms the same cells: its rows sum to the weighted scores.
  std::vector<int32_t> items(kItems);
  for (int32_t i = 0; i < kItems; ++i) items[i] = i;
  const Eigen::MatrixXf shares = fold_in->Explain(xs, items);
  for (int32_t i = 0; i < kItems; ++i) {
    const float score = user.embedding.dot(item_embeddings_.row(i));
    EXPECT_NEAR(shares.row(i).sum(), score, 1e-4f * (1 + std::abs(score)));
  }
}

TEST_F(UserFoldInTest, TiedOrUntimedInteractionsAreUnweighted) {
  FoldInParams params = RidgeParams();
  params.retrieval.recency_weight = 30.0f;
  params.retrieval.recency_horizon = 2.0f;
  const auto weighted = Make(params);
  const auto plain = Make(RidgeParams());
  const std::vector<UserInteraction> untimed = SomeInteractions();
  std::vector<UserInteraction> tied = untimed;
  for (UserInteraction& x : tied) x.time = 123456;
  const FoldedInUser want = plain->FoldIn(untimed);
  for (const std::vector<UserInteraction>& xs : {untimed, tied}) {
    const FoldedInUser got = weighted->FoldIn(xs);
    EXPECT_EQ(got.embedding, want.embedding);
    EXPECT_EQ(got.factors, want.factors);
    const std::vector<int32_t> items = {0, 3, 29};
    EXPECT_EQ(weighted->Explain(xs, items), plain->Explain(untimed, items));
  }
  // Without recency weighting, times change nothing.
  std::vector<UserInteraction> timed = untimed;
  for (size_t i = 0; i < timed.size(); ++i) timed[i].time = 100 - 7 * i;
  EXPECT_EQ(plain->FoldIn(timed).embedding, want.embedding);
}

TEST_F(UserFoldInTest, ValidateFoldInParamsNamesTheField) {
  EXPECT_TRUE(ValidateFoldInParams(RidgeParams(), kFactors).ok());
  EXPECT_TRUE(ValidateFoldInParams(PriorParams(), kFactors).ok());
  const auto expect_invalid = [](const FoldInParams& params, int32_t factors,
                                 const char* field) {
    const absl::Status status = ValidateFoldInParams(params, factors);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(status.message(), HasSubstr(field));
  };
  expect_invalid(RidgeParams(), kFactors + 1, "fold_in.rating");
  FoldInParams p = PriorParams();
  p.rating.mean.resize(kFactors);
  expect_invalid(p, kFactors, "fold_in.rating");
  p = PriorParams();
  p.rating.mean[1] = NAN;
  expect_invalid(p, kFactors, "fold_in.rating.mean");
  p = PriorParams();
  p.rating.precision[2] = 0.0f;
  expect_invalid(p, kFactors, "fold_in.rating.precision");
  p = PriorParams();
  p.rating.precision[0] = -1.0f;
  expect_invalid(p, kFactors, "fold_in.rating.precision");
  p = PriorParams();
  p.rating.precision[0] = INFINITY;
  expect_invalid(p, kFactors, "fold_in.rating.precision");
  p = RidgeParams();
  p.retrieval.reg = 0.0f;
  expect_invalid(p, kFactors, "fold_in.retrieval.reg");
  p = RidgeParams();
  p.retrieval.reg = INFINITY;
  expect_invalid(p, kFactors, "fold_in.retrieval.reg");
  p = RidgeParams();
  p.retrieval.alpha = -0.1f;
  expect_invalid(p, kFactors, "fold_in.retrieval.alpha");
  p = RidgeParams();
  p.retrieval.alpha = NAN;
  expect_invalid(p, kFactors, "fold_in.retrieval.alpha");
  p = RidgeParams();
  p.retrieval.unobserved_weight = 0.0f;
  expect_invalid(p, kFactors, "fold_in.retrieval.unobserved_weight");
  p = RidgeParams();
  p.retrieval.recency_weight = -1.0f;
  expect_invalid(p, kFactors, "fold_in.retrieval.recency_weight");
  p = RidgeParams();
  p.retrieval.recency_weight = INFINITY;
  expect_invalid(p, kFactors, "fold_in.retrieval.recency_weight");
  p = RidgeParams();
  p.retrieval.recency_horizon = 0.0f;
  expect_invalid(p, kFactors, "fold_in.retrieval.recency_horizon");
  p = RidgeParams();
  p.retrieval.recency_horizon = NAN;
  expect_invalid(p, kFactors, "fold_in.retrieval.recency_horizon");
  // alpha 0 is allowed, and so is any recency weight >= 0.
  p = RidgeParams();
  p.retrieval.alpha = 0.0f;
  EXPECT_TRUE(ValidateFoldInParams(p, kFactors).ok());
  p.retrieval.recency_weight = 100.0f;
  p.retrieval.recency_horizon = 0.5f;
  EXPECT_TRUE(ValidateFoldInParams(p, kFactors).ok());
  EXPECT_TRUE(HasRecency(p.retrieval));
  EXPECT_FALSE(HasRecency(RidgeParams().retrieval));
}

// Implicit ALS solves the users last, with the same row step: a trained
// user's stored embedding is the fold-in of their training ratings.
TEST(UserFoldInTrainedTest, TrainedUsersEqualTheFoldInOfTheirRatings) {
  constexpr int32_t kUsers = 25;
  constexpr int32_t kItems = 40;
  std::mt19937_64 rng(7);
  std::vector<Rating> ratings;
  for (int32_t u = 0; u < kUsers; ++u) {
    for (int32_t j = 0; j < 6 + u % 5; ++j) {
      const int32_t item = (u * 11 + j * 7) % kItems;
      ratings.push_back({u, item, static_cast<float>(1 + (u + j) % 5), 0});
    }
  }
  ImplicitAlsOptions options;
  options.factors = 6;
  options.iterations = 4;
  options.reg = 0.5f;
  options.alpha = 0.4f;
  options.unobserved_weight = 0.8f;
  options.threads = 1;
  absl::StatusOr<RetrievalModel> trained =
      TrainImplicitAls(kUsers, kItems, ratings, options);
  ASSERT_TRUE(trained.ok()) << trained.status();

  FoldInParams params;
  params.rating = RatingUserPrior::Ridge(2, 0.1f, 0.1f);
  params.retrieval = {.reg = options.reg,
                      .alpha = options.alpha,
                      .unobserved_weight = options.unobserved_weight};
  const FactorMatrix item_factors = FactorMatrix::Zero(kItems, 2);
  const Eigen::VectorXf item_bias = Eigen::VectorXf::Zero(kItems);
  const UserFoldIn fold_in(
      MapOf(item_factors),
      Eigen::Map<const Eigen::VectorXf>(item_bias.data(), kItems), 3.0f,
      MapOf(trained->item_factors), params);
  for (int32_t u = 0; u < kUsers; ++u) {
    std::vector<UserInteraction> xs;
    for (const Rating& r : ratings) {
      if (r.user == u) xs.push_back({r.item, r.value, 1.0f});
    }
    const FoldedInUser user = fold_in.FoldIn(xs);
    const Eigen::RowVectorXf stored = trained->user_factors.row(u);
    ASSERT_GT(stored.norm(), 1e-4f);
    EXPECT_LT((user.embedding - stored).norm(), 1e-4f * stored.norm() + 1e-6f)
        << "user " << u << ": folded " << user.embedding << " stored "
        << stored;
  }
}

// A user trained with recency-weighted confidence is the fold-in of their
// ratings at their timestamps: the weighting is the same. Ratings (implicit:
// signed values, log confidence, frequency-scaled regularization) at times
// with ties; untimed, the fold-in is far from the trained user.
void ExpectRecencyTrainedUsersAreTheirFoldIn(bool implicit) {
  constexpr int32_t kUsers = 25;
  constexpr int32_t kItems = 40;
  std::vector<Rating> ratings;
  for (int32_t u = 0; u < kUsers; ++u) {
    for (int32_t j = 0; j < 6 + u % 5; ++j) {
      const int32_t item = (u * 11 + j * 7) % kItems;
      float value = static_cast<float>(1 + (u + j) % 5);
      if (implicit && (u + j) % 4 == 0) value = -value;
      // j and j + 7 tie.
      ratings.push_back({u, item, value, 1000 + (j * 5 + u) % 7});
    }
  }
  ImplicitAlsOptions options;
  options.factors = 6;
  options.iterations = 4;
  options.reg = 0.5f;
  options.alpha = 0.4f;
  options.unobserved_weight = 0.8f;
  options.recency_weight = 30.0f;
  options.recency_horizon = 2.0f;
  if (implicit) {
    options.confidence_scale = ConfidenceScale::kLog;
    options.epsilon = 0.5f;
    options.reg_exponent = 0.5f;
  }
  options.threads = 1;
  absl::StatusOr<RetrievalModel> trained =
      TrainImplicitAls(kUsers, kItems, ratings, options);
  ASSERT_TRUE(trained.ok()) << trained.status();

  FoldInParams params;
  if (!implicit) params.rating = RatingUserPrior::Ridge(2, 0.1f, 0.1f);
  params.retrieval = {.reg = options.reg,
                      .alpha = options.alpha,
                      .unobserved_weight = options.unobserved_weight,
                      .scale = options.confidence_scale,
                      .epsilon = options.epsilon,
                      .reg_exponent = options.reg_exponent,
                      .recency_weight = options.recency_weight,
                      .recency_horizon = options.recency_horizon};
  ASSERT_TRUE(ValidateFoldInParams(params, implicit ? kNoRatingModel : 2).ok());
  const FactorMatrix item_factors = FactorMatrix::Zero(kItems, 2);
  const Eigen::VectorXf item_bias = Eigen::VectorXf::Zero(kItems);
  const std::unique_ptr<UserFoldIn> fold_in =
      implicit
          ? std::make_unique<UserFoldIn>(MapOf(trained->item_factors), params)
          : std::make_unique<UserFoldIn>(
                MapOf(item_factors),
                Eigen::Map<const Eigen::VectorXf>(item_bias.data(), kItems),
                3.0f, MapOf(trained->item_factors), params);
  float untimed_gap = 0.0f;
  for (int32_t u = 0; u < kUsers; ++u) {
    std::vector<UserInteraction> xs;
    for (const Rating& r : ratings) {
      if (r.user != u) continue;
      xs.push_back(implicit ? UserInteraction{.item = r.item,
                                              .value = r.value,
                                              .time = r.timestamp}
                            : UserInteraction{.item = r.item,
                                              .rating = r.value,
                                              .weight = 1.0f,
                                              .time = r.timestamp});
    }
    const Eigen::RowVectorXf stored = trained->user_factors.row(u);
    ASSERT_GT(stored.norm(), 1e-4f);
    const FoldedInUser user = fold_in->FoldIn(xs);
    EXPECT_LT((user.embedding - stored).norm(), 1e-4f * stored.norm() + 1e-6f)
        << "user " << u << ": folded " << user.embedding << " stored "
        << stored;
    for (UserInteraction& x : xs) x.time = 0;
    untimed_gap =
        std::max(untimed_gap, (fold_in->FoldIn(xs).embedding - stored).norm() /
                                  stored.norm());
  }
  // Far beyond the tolerance above: the check can tell.
  EXPECT_GT(untimed_gap, 0.02f) << "the weighting made no difference";
}

TEST(UserFoldInTrainedTest, RecencyTrainedUsersEqualTheirTimedFoldIn) {
  ExpectRecencyTrainedUsersAreTheirFoldIn(/*implicit=*/false);
}

TEST(UserFoldInTrainedTest, RecencyTrainedImplicitUsersEqualTheirTimedFoldIn) {
  ExpectRecencyTrainedUsersAreTheirFoldIn(/*implicit=*/true);
}

// Implicit feedback: no rating model; signed values, log confidence and
// frequency-scaled regularization.
class ImplicitUserFoldInTest : public UserFoldInTest {
 protected:
  static FoldInParams ImplicitParams() {
    FoldInParams params;
    params.retrieval = {.reg = 1.5f,
                        .alpha = 2.0f,
                        .unobserved_weight = 0.3f,
                        .scale = ConfidenceScale::kLog,
                        .epsilon = 0.5f,
                        .reg_exponent = 0.75f};
    return params;
  }
  std::unique_ptr<UserFoldIn> MakeImplicit() const {
    return std::make_unique<UserFoldIn>(MapOf(item_embeddings_),
                                        ImplicitParams());
  }
  // Dense, over every item: cell values (one per item) → x.
  Eigen::VectorXd Dense(const std::map<int32_t, double>& cells) const {
    const RetrievalFoldInParams r = ImplicitParams().retrieval;
    const double w0 = r.unobserved_weight;
    const double scale = std::pow(
        (static_cast<double>(cells.size()) + w0 * kItems) / (w0 * kItems),
        double{r.reg_exponent});
    Eigen::MatrixXd a = Eigen::MatrixXd::Identity(kEmbedding, kEmbedding) *
                        (double{r.reg} * scale);
    Eigen::VectorXd b = Eigen::VectorXd::Zero(kEmbedding);
    for (int32_t i = 0; i < kItems; ++i) {
      const Eigen::VectorXd o =
          item_embeddings_.row(i).transpose().cast<double>();
      const auto it = cells.find(i);
      if (it == cells.end()) {
        a += w0 * o * o.transpose();
        continue;
      }
      const double c =
          1.0 + r.alpha * std::log1p(std::fabs(it->second) / r.epsilon);
      a += std::max(c, w0) * o * o.transpose();
      if (it->second >= 0) b += c * o;
    }
    return a.ldlt().solve(b);
  }
};

TEST_F(ImplicitUserFoldInTest, EqualsTheDenseSolveWithNegatives) {
  const std::unique_ptr<UserFoldIn> fold_in = MakeImplicit();
  EXPECT_FALSE(fold_in->has_rating_model());
  const std::vector<UserInteraction> xs = {{.item = 3, .value = 5.0f},
                                           {.item = 7, .value = -2.0f},
                                           {.item = 11, .value = 0.0f},
                                           {.item = 20, .value = 40.0f}};
  const FoldedInUser user = fold_in->FoldIn(xs);
  EXPECT_EQ(user.factors.size(), 0);
  EXPECT_EQ(user.bias, 0.0f);
  EXPECT_EQ(user.rated, 0);
  ExpectNear(user.embedding,
             Dense({{3, 5.0}, {7, -2.0}, {11, 0.0}, {20, 40.0}}), 1e-4);
  // A negative item pulls the user away from it: its score drops below what
  // the same user without it gets.
  std::vector<UserInteraction> positive = {xs[0], xs[2], xs[3]};
  const FoldedInUser base = fold_in->FoldIn(positive);
  EXPECT_LT(user.embedding.dot(item_embeddings_.row(7)),
            base.embedding.dot(item_embeddings_.row(7)));
}

TEST_F(ImplicitUserFoldInTest, RepeatedItemsAggregateLikeTheReader) {
  const std::unique_ptr<UserFoldIn> fold_in = MakeImplicit();
  // Item 4: strengths 2 and 3 positive, then a dislike of 1: negative, of
  // the negative strength 1. Item 9: a dislike then two views: positive 2.
  const FoldedInUser user = fold_in->FoldIn({{.item = 4, .value = 2.0f},
                                             {.item = 9, .value = -5.0f},
                                             {.item = 4, .value = 3.0f},
                                             {.item = 9, .value = 1.0f},
                                             {.item = 4, .value = -1.0f},
                                             {.item = 9, .value = 1.0f}});
  ExpectNear(user.embedding, Dense({{4, -1.0}, {9, 2.0}}), 1e-4);
}

TEST_F(ImplicitUserFoldInTest, TheLatestInteractionByTimeSetsThePolarity) {
  const std::unique_ptr<UserFoldIn> fold_in = MakeImplicit();
  // Item 4: a purchase at time 5 listed before a dislike at time 1: the
  // purchase is the latest, so the cell is positive, of strength 3.
  const FoldedInUser user =
      fold_in->FoldIn({{.item = 4, .value = 3.0f, .time = 5},
                       {.item = 4, .value = -1.0f, .time = 1},
                       {.item = 9, .value = 2.0f, .time = 3}});
  ExpectNear(user.embedding, Dense({{4, 3.0}, {9, 2.0}}), 1e-4);
}

TEST_F(ImplicitUserFoldInTest, ExplainSharesSumToTheScore) {
  const std::unique_ptr<UserFoldIn> fold_in = MakeImplicit();
  const std::vector<UserInteraction> xs = {{.item = 1, .value = 3.0f},
                                           {.item = 5, .value = -4.0f},
                                           {.item = 8, .value = 1.0f}};
  const FoldedInUser user = fold_in->FoldIn(xs);
  const std::vector<int32_t> items = {0, 2, 5, 29};
  std::vector<int32_t> interacted;
  const Eigen::MatrixXf shares = fold_in->Explain(xs, items, &interacted);
  EXPECT_EQ(interacted, (std::vector<int32_t>{1, 5, 8}));
  for (size_t r = 0; r < items.size(); ++r) {
    EXPECT_NEAR(shares.row(static_cast<Eigen::Index>(r)).sum(),
                user.embedding.dot(item_embeddings_.row(items[r])), 1e-4);
    // The negative item's share is 0: it acts through W only.
    EXPECT_EQ(shares(static_cast<Eigen::Index>(r), 1), 0.0f);
  }
}

TEST_F(ImplicitUserFoldInTest, ValidatesWithoutARatingModel) {
  FoldInParams params = ImplicitParams();
  EXPECT_TRUE(ValidateFoldInParams(params, kNoRatingModel).ok());
  EXPECT_FALSE(params.has_rating());
  FoldInParams with_prior = params;
  with_prior.rating = RatingUserPrior::Ridge(2, 0.1f, 0.1f);
  EXPECT_THAT(ValidateFoldInParams(with_prior, kNoRatingModel).message(),
              HasSubstr("fold_in.rating"));
  // A rating model needs its prior.
  EXPECT_THAT(ValidateFoldInParams(params, 2).message(),
              HasSubstr("fold_in.rating"));
  params.retrieval.epsilon = 0.0f;
  EXPECT_THAT(ValidateFoldInParams(params, kNoRatingModel).message(),
              HasSubstr("fold_in.retrieval.epsilon"));
  params = ImplicitParams();
  params.retrieval.reg_exponent = -1.0f;
  EXPECT_THAT(ValidateFoldInParams(params, kNoRatingModel).message(),
              HasSubstr("fold_in.retrieval.reg_exponent"));
  params = ImplicitParams();
  params.retrieval.reg_exponent = std::nanf("");
  EXPECT_FALSE(ValidateFoldInParams(params, kNoRatingModel).ok());
  EXPECT_FALSE(HasDefaultConfidence(ImplicitParams().retrieval));
  EXPECT_TRUE(HasDefaultConfidence(RetrievalFoldInParams()));
}

TEST_F(ImplicitUserFoldInTest, ExplicitFoldInHonorsTheConfidenceScale) {
  // A rating model with a log confidence scale and frequency-scaled reg:
  // the retrieval row uses Confidence(rating) · weight, the scale and the
  // reg scale; all preferences 1.
  FoldInParams params = RidgeParams();
  params.retrieval.scale = ConfidenceScale::kLog;
  params.retrieval.epsilon = 2.0f;
  params.retrieval.reg_exponent = 0.5f;
  const std::unique_ptr<UserFoldIn> fold_in = Make(params);
  const std::vector<UserInteraction> xs = {{3, 4.0f, 1.0f}, {7, 2.0f, 2.0f}};
  const FoldedInUser user = fold_in->FoldIn(xs);
  const RetrievalFoldInParams& r = params.retrieval;
  const double w0 = r.unobserved_weight;
  const double reg_scale =
      std::pow((2.0 + w0 * kItems) / (w0 * kItems), double{r.reg_exponent});
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(kEmbedding, kEmbedding) *
                      (double{r.reg} * reg_scale);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(kEmbedding);
  for (int32_t i = 0; i < kItems; ++i) {
    const Eigen::VectorXd o =
        item_embeddings_.row(i).transpose().cast<double>();
    double c = 0.0;
    for (const UserInteraction& x : xs) {
      if (x.item == i) {
        c += (1.0 + r.alpha * std::log1p(x.rating / r.epsilon)) * x.weight;
      }
    }
    a += (c > 0 ? std::max(c, w0) : w0) * o * o.transpose();
    b += c * o;
  }
  ExpectNear(user.embedding, a.ldlt().solve(b), 1e-4);
  EXPECT_EQ(user.rated, 2);
}

}  // namespace
}  // namespace recserve
