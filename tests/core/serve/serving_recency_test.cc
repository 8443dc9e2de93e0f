// Recency-weighted fold-in through ServingModel on a ratings snapshot
// (format 6): the retrieval model trained with recency-weighted confidence
// (TrainImplicitAls), published with its fold-in parameters and the seen
// order; a known user's training ratings rank by that order behind a
// request's recent interactions, which rank by position.
//
// The oracle is UserFoldIn over the snapshot's arrays with every interaction
// at its training timestamp (recent ones after all of them), so the server's
// ranks, from user_seen_later.npy and positions, must equal those from the
// timestamps.

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/model/user_fold_in.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "core/train/implicit_als.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"
#include "tests/testutil/tiny_model.h"

namespace recserve {
namespace {

constexpr int32_t kUsers = 20;
constexpr int32_t kItems = 40;
constexpr int32_t kFactors = 3;
constexpr int32_t kEmbedding = 5;

class ServingRecencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tiny_ = testutil::MakeTinyModel(kUsers, kItems, kFactors, 8, /*seed=*/5);
    // One rating per pair, as ReadRatings leaves them: drop the fixture's
    // repeated pair. Each user's ratings in another order than listed.
    tiny_.train.ratings.resize(tiny_.train.ratings.size() - 2);
    for (Rating& r : tiny_.train.ratings) {
      r.timestamp = 1000 * int64_t{r.user} + (r.timestamp % 1000) * 5 % 8;
    }
    ImplicitAlsOptions options;
    options.factors = kEmbedding;
    options.iterations = 5;
    options.reg = 0.5f;
    options.alpha = 0.4f;
    options.unobserved_weight = 0.8f;
    options.recency_weight = 30.0f;
    options.recency_horizon = 2.0f;
    options.threads = 1;
    absl::StatusOr<RetrievalModel> retrieval =
        TrainImplicitAls(kUsers, kItems, tiny_.train.ratings, options);
    ASSERT_TRUE(retrieval.ok()) << retrieval.status();
    retrieval_ = *std::move(retrieval);
    params_.rating = RatingUserPrior::Ridge(kFactors, 0.05f, 0.02f);
    params_.retrieval = {.reg = options.reg,
                         .alpha = options.alpha,
                         .unobserved_weight = options.unobserved_weight,
                         .recency_weight = options.recency_weight,
                         .recency_horizon = options.recency_horizon};
    SnapshotContents contents;
    contents.train = &tiny_.train;
    contents.model = &tiny_.model;
    contents.algo = "als";
    contents.retrieval = &retrieval_;
    contents.ranking = {.candidates = 20, .blend_weight = 0.5f};
    contents.fold_in = &params_;
    absl::StatusOr<std::string> version =
        PublishSnapshot(tmp_.path(), contents);
    ASSERT_TRUE(version.ok()) << version.status();
    absl::StatusOr<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(tmp_.Path(*version), {});
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = *model;
    ASSERT_EQ(model_->snapshot().manifest().format_version, 6);
  }

  // The retrieval score of every item an explained, exact Recommend
  // returns, with each item's summed shares.
  struct Scores {
    std::map<int32_t, float> retrieval;
    std::map<int32_t, double> shares;
    bool folded_in = false;
  };
  Scores Recommend(int32_t user,
                   const std::vector<std::pair<int32_t, double>>& recent) {
    RecommendQuery q;
    q.user_id = model_->snapshot().UserId(user);
    q.n = kItems;
    q.candidates = kItems;
    q.exact = true;
    q.explain = true;
    for (const auto& [item, rating] : recent) {
      RecentInteraction x;
      x.item_id = model_->snapshot().ItemId(item);
      x.rating = rating;
      q.recent.push_back(x);
    }
    absl::StatusOr<Recommendation> r =
        model_->Recommend(q, ServingLimits(), ServingPolicy());
    EXPECT_TRUE(r.ok()) << r.status();
    Scores out;
    if (!r.ok()) return out;
    out.folded_in = r->folded_in;
    for (const RecommendedItem& item : r->items) {
      out.retrieval[item.item] = item.explanation.retrieval_score;
      double sum = 0;
      for (const Contribution& c : item.explanation.because) sum += c.share;
      out.shares[item.item] = sum;
    }
    return out;
  }

  // The user's embedding folded in from their training ratings at their
  // timestamps and `recent` after them, in order.
  Eigen::RowVectorXf Oracle(
      int32_t user, const std::vector<std::pair<int32_t, double>>& recent) {
    const Snapshot& s = model_->snapshot();
    const UserFoldIn fold_in(s.item_factors(), s.item_bias(), s.global_mean(),
                             s.item_embeddings(), params_);
    std::vector<UserInteraction> xs;
    for (const Rating& r : tiny_.train.ratings) {
      if (r.user != user) continue;
      xs.push_back({.item = r.item,
                    .rating = r.value,
                    .weight = 1.0f,
                    .time = r.timestamp});
    }
    for (size_t p = 0; p < recent.size(); ++p) {
      xs.push_back({.item = recent[p].first,
                    .rating = static_cast<float>(recent[p].second),
                    .weight = 1.0f,
                    .time = (int64_t{1} << 40) + static_cast<int64_t>(p)});
    }
    return fold_in.FoldIn(xs).embedding;
  }

  float Score(const Eigen::RowVectorXf& user, int32_t item) const {
    return user.dot(model_->snapshot().item_embeddings().row(item));
  }

  testutil::TempDir tmp_;
  testutil::TinyModel tiny_;
  RetrievalModel retrieval_;
  FoldInParams params_;
  std::shared_ptr<const ServingModel> model_;
};

// A known user's stored vector is the fold-in of their training ratings in
// the snapshot's order, so the explanations (that fold-in, decomposed) add
// up to the stored scores.
TEST_F(ServingRecencyTest, KnownUsersExplanationsAddUpToTheTrainedScores) {
  for (int32_t user = 0; user + 1 < kUsers; ++user) {
    SCOPED_TRACE(user);
    const Scores scores = Recommend(user, {});
    EXPECT_FALSE(scores.folded_in);
    ASSERT_FALSE(scores.retrieval.empty());
    const Eigen::RowVectorXf trained = retrieval_.user_factors.row(user);
    const Eigen::RowVectorXf oracle = Oracle(user, {});
    EXPECT_LT((oracle - trained).norm(), 1e-4f * trained.norm() + 1e-6f);
    for (const auto& [item, score] : scores.retrieval) {
      EXPECT_NEAR(score, Score(trained, item), 1e-5f);
      // 8 ratings: every share is listed.
      EXPECT_NEAR(scores.shares.at(item), score, 1e-4 * (1 + std::abs(score)))
          << "item " << item;
    }
  }
}

// Recent interactions rank after the training ones, by position: the same
// two in the other order give another user, each the oracle's.
TEST_F(ServingRecencyTest, TheOrderOfRecentInteractionsMatters) {
  const int32_t user = 3;
  const std::vector<std::pair<int32_t, double>> recent = {{1, 5.0}, {2, 1.0}};
  const std::vector<std::pair<int32_t, double>> reversed = {recent[1],
                                                            recent[0]};
  const Scores a = Recommend(user, recent);
  const Scores b = Recommend(user, reversed);
  ASSERT_TRUE(a.folded_in && b.folded_in);
  const Eigen::RowVectorXf want_a = Oracle(user, recent);
  const Eigen::RowVectorXf want_b = Oracle(user, reversed);
  ASSERT_EQ(a.retrieval.size(), b.retrieval.size());
  float gap = 0.0f;
  for (const auto& [item, score] : a.retrieval) {
    EXPECT_NEAR(score, Score(want_a, item), 1e-4f) << "item " << item;
    EXPECT_NEAR(b.retrieval.at(item), Score(want_b, item), 1e-4f)
        << "item " << item;
    EXPECT_NEAR(a.shares.at(item), score, 1e-4 * (1 + std::abs(score)));
    gap = std::max(gap, std::abs(score - b.retrieval.at(item)));
  }
  EXPECT_GT(gap, 1e-2f) << "the order made no difference";
}

}  // namespace
}  // namespace recserve
