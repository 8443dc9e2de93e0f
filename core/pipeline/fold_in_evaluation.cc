#include "core/pipeline/fold_in_evaluation.h"

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"
#include "core/base/stopwatch.h"
#include "core/data/sparse_ratings.h"
#include "core/data/split.h"
#include "core/model/item_item_model.h"
#include "core/model/item_scorer.h"
#include "core/model/two_stage_scorer.h"
#include "core/model/user_fold_in.h"
#include "core/pipeline/training_record.h"

namespace recserve {
namespace {

// Which part of the protocol a training rating belongs to.
enum class Role : uint8_t { kOther, kRecent, kTest };

// The held-out users' data in model A's item space: the users in
// with_recent's order (row j is split.users[j]), their recent halves
// without the items A lacks, and their test halves.
struct FoldedUsers {
  Dataset seen;
  std::vector<Rating> test;
};

FoldedUsers InModelASpace(const FoldInSplit& split) {
  const Dataset& a = split.without_users;
  const Dataset& b = split.with_recent;
  std::vector<int32_t> row_of(b.num_users(), kUnknownIndex);
  FoldedUsers out;
  out.seen.items = a.items;
  for (const int32_t u : split.users) {
    row_of[u] = out.seen.users.GetOrAdd(b.users.Id(u));
  }
  const std::vector<int32_t> item_in_a = MapIndices(b.items, a.items);
  for (const Rating& r : b.ratings) {
    const int32_t row = row_of[r.user];
    if (row == kUnknownIndex || item_in_a[r.item] == kUnknownIndex) continue;
    out.seen.ratings.push_back({row, item_in_a[r.item], r.value, r.timestamp});
  }
  for (const Rating& r : split.test) {
    const int32_t item =
        r.item == kUnknownIndex ? kUnknownIndex : item_in_a[r.item];
    out.test.push_back({row_of[r.user], item, r.value, r.timestamp});
  }
  return out;
}

// Model A's rating model and retrieval embeddings for the held-out users,
// folded in from their recent halves: A's item side, their user side.
struct FoldedModels {
  MfModel rating;
  FactorMatrix embeddings;
};

// The fold-in of `a`'s item side: both models' for explicit feedback, the
// retrieval model's alone for events.
absl::StatusOr<std::unique_ptr<UserFoldIn>> MakeFoldIn(
    const TwoStageTrainingResult& a) {
  const FactorMatrix& item_embeddings = a.retrieval->item_factors;
  const Eigen::Map<const FactorMatrix> embeddings(
      item_embeddings.data(), item_embeddings.rows(), item_embeddings.cols());
  const FoldInParams params = FoldInParamsOf(a);
  if (!a.rating_trained) {
    RETURN_IF_ERROR(ValidateFoldInParams(params, kNoRatingModel));
    return std::make_unique<UserFoldIn>(embeddings, params);
  }
  const MfModel& model = a.rating.train.model;
  RETURN_IF_ERROR(ValidateFoldInParams(params, model.factors()));
  return std::make_unique<UserFoldIn>(
      Eigen::Map<const FactorMatrix>(model.item_factors.data(),
                                     model.item_factors.rows(),
                                     model.item_factors.cols()),
      Eigen::Map<const Eigen::VectorXf>(model.item_bias.data(),
                                        model.item_bias.size()),
      model.global_mean, embeddings, params);
}

absl::StatusOr<FoldedModels> FoldIn(const TwoStageTrainingResult& a,
                                    const Dataset& seen, int32_t threads) {
  ASSIGN_OR_RETURN(const std::unique_ptr<UserFoldIn> fold_in, MakeFoldIn(a));
  const MfModel& model = a.rating.train.model;
  const int32_t users = seen.num_users();
  FoldedModels out;
  if (a.rating_trained) {
    out.rating.global_mean = model.global_mean;
    out.rating.item_bias = model.item_bias;
    out.rating.item_factors = model.item_factors;
    out.rating.scale = model.scale;
    out.rating.user_bias.resize(users);
    out.rating.user_factors.resize(users, model.factors());
  }
  out.embeddings.resize(users, a.retrieval->item_factors.cols());
  const RatingPositions by_user =
      GroupRatingPositions(seen.ratings, users, RatingAxis::kUser);
  ParallelFor(users, threads, [&](int64_t begin, int64_t end, int32_t) {
    std::vector<UserInteraction> interactions;
    for (int64_t u = begin; u < end; ++u) {
      interactions.clear();
      for (const int64_t p : by_user.Row(static_cast<int32_t>(u))) {
        const Rating& r = seen.ratings[p];
        interactions.push_back({.item = r.item,
                                .rating = r.value,
                                .value = r.value,
                                .time = r.timestamp});
      }
      const FoldedInUser user = fold_in->FoldIn(interactions);
      if (a.rating_trained) {
        out.rating.user_factors.row(u) = user.factors;
        out.rating.user_bias[u] = user.bias;
      }
      out.embeddings.row(u) = user.embedding;
    }
  });
  return out;
}

double Ratio(double a, double b) {
  return b > 0 ? a / b : std::numeric_limits<double>::quiet_NaN();
}

// Writes one ranking's metrics under `prefix` ("" or "method/").
void AddTopN(const std::string& prefix, int32_t k, const TopNMetrics& m,
             nlohmann::json* out) {
  const std::string at = absl::StrCat("@", k);
  (*out)[prefix + "precision" + at] = FiniteOrNull(m.precision);
  (*out)[prefix + "recall" + at] = FiniteOrNull(m.recall);
  (*out)[prefix + "ndcg" + at] = FiniteOrNull(m.ndcg);
  (*out)[prefix + "coverage"] = FiniteOrNull(m.coverage);
  (*out)[prefix + "hr" + at] = FiniteOrNull(m.loo_hr);
  (*out)[prefix + "loo_ndcg" + at] = FiniteOrNull(m.loo_ndcg);
  (*out)[prefix + "topn_users"] = m.users;
  (*out)[prefix + "loo_users"] = m.loo_users;
}

// (name, metrics) of every ranking but fold-in's own.
std::vector<std::pair<const char*, const TopNMetrics*>> Others(
    const FoldInEvaluation& e) {
  return {{"trained", &e.trained},
          {"popularity", &e.popularity},
          {"retrieval", &e.fold_in_retrieval},
          {"trained_retrieval", &e.trained_retrieval}};
}

}  // namespace

double FoldInEvaluation::RecallVsPopularity() const {
  return Ratio(fold_in.recall, popularity.recall);
}

double FoldInEvaluation::RecallVsTrained() const {
  return Ratio(fold_in.recall, trained.recall);
}

nlohmann::json FoldInToJson(const FoldInEvaluation& e) {
  nlohmann::json out = {
      {"users", e.users},
      {"recent_ratings", e.recent_ratings},
      {"test_ratings", e.test_ratings},
      {"model_a_users", e.model_a_users},
      {"model_a_ratings", e.model_a_ratings},
      {"k", e.k},
      {"seconds", e.seconds},
      {"recall_vs_popularity", FiniteOrNull(e.RecallVsPopularity())},
      {"recall_vs_trained", FiniteOrNull(e.RecallVsTrained())}};
  nlohmann::json methods = nlohmann::json::object();
  AddTopN("", e.k, e.fold_in, &methods["fold_in"]);
  for (const auto& [name, metrics] : Others(e)) {
    AddTopN("", e.k, *metrics, &methods[name]);
  }
  out["methods"] = std::move(methods);
  return out;
}

void AddFoldInMetrics(const FoldInEvaluation& e, nlohmann::json* metrics) {
  AddTopN("fold_in/", e.k, e.fold_in, metrics);
  for (const auto& [name, m] : Others(e)) {
    AddTopN(absl::StrCat("fold_in/", name, "/"), e.k, *m, metrics);
  }
  (*metrics)["fold_in/recall_vs_popularity"] =
      FiniteOrNull(e.RecallVsPopularity());
  (*metrics)["fold_in/recall_vs_trained"] = FiniteOrNull(e.RecallVsTrained());
  (*metrics)["fold_in/users"] = e.users;
  (*metrics)["fold_in_seconds"] = e.seconds;
}

FoldInSplit SplitFoldInUsers(const Dataset& train, double share,
                             uint64_t seed) {
  FoldInSplit out;
  const RatingPositions by_user =
      GroupRatingPositions(train.ratings, train.num_users(), RatingAxis::kUser);
  std::vector<int32_t> eligible;
  for (int32_t u = 0; u < train.num_users(); ++u) {
    if (by_user.RowSize(u) >= 2) eligible.push_back(u);
  }
  int64_t count = 0;
  if (share > 0 && !eligible.empty()) {
    count = std::max<int64_t>(
        1, std::llround(std::min(share, 1.0) * eligible.size()));
  }
  count = std::min<int64_t>(count, train.num_users() - 1);
  if (count <= 0) return out;
  RandomStream rng(seed, 0xf01d1);
  for (int64_t j = 0; j < count; ++j) {
    std::swap(eligible[j], eligible[j + rng.Below(eligible.size() - j)]);
  }
  eligible.resize(count);

  std::vector<Role> role(train.ratings.size(), Role::kOther);
  std::vector<int64_t> history;
  for (const int32_t u : eligible) {
    const absl::Span<const int64_t> row = by_user.Row(u);
    history.assign(row.begin(), row.end());
    std::stable_sort(history.begin(), history.end(), [&](int64_t x, int64_t y) {
      return train.ratings[x].timestamp < train.ratings[y].timestamp;
    });
    const size_t recent = history.size() / 2;
    for (size_t j = 0; j < history.size(); ++j) {
      role[history[j]] = j < recent ? Role::kRecent : Role::kTest;
    }
  }
  // Every training rating, ordered so that each training set is a prefix:
  // the other users', then the recent halves, then the test halves.
  Dataset ordered;
  ordered.users = train.users;
  ordered.items = train.items;
  ordered.ratings.reserve(train.ratings.size());
  auto append = [&](Role wanted) {
    for (size_t p = 0; p < train.ratings.size(); ++p) {
      if (role[p] == wanted) ordered.ratings.push_back(train.ratings[p]);
    }
  };
  append(Role::kOther);
  const size_t model_a_ratings = ordered.ratings.size();
  append(Role::kRecent);
  const size_t model_b_ratings = ordered.ratings.size();
  append(Role::kTest);
  out.without_users = MakeTrainTest(ordered, model_a_ratings).train;
  TrainTest with_recent = MakeTrainTest(ordered, model_b_ratings);
  out.with_recent = std::move(with_recent.train);
  out.test = std::move(with_recent.test);
  for (const int32_t u : eligible) {
    out.users.push_back(out.with_recent.users.Find(train.users.Id(u)));
  }
  std::sort(out.users.begin(), out.users.end());
  return out;
}

absl::StatusOr<FoldInEvaluation> EvaluateFoldIn(
    const FoldInSplit& split, const TwoStageTrainingOptions& settings,
    const TopNOptions& evaluation) {
  if (!settings.train_retrieval) {
    return absl::FailedPreconditionError(
        "the fold-in evaluation needs retrieval embeddings");
  }
  const auto start = std::chrono::steady_clock::now();
  const Dataset& a_data = split.without_users;
  const Dataset& b_data = split.with_recent;
  FoldInEvaluation result;
  result.k = std::max(evaluation.k, 1);
  result.users = static_cast<int32_t>(split.users.size());
  result.recent_ratings =
      static_cast<int64_t>(b_data.ratings.size() - a_data.ratings.size());
  result.test_ratings = static_cast<int64_t>(split.test.size());
  result.model_a_users = a_data.num_users();
  result.model_a_ratings = static_cast<int64_t>(a_data.ratings.size());

  ASSIGN_OR_RETURN(const TwoStageTrainingResult a,
                   TrainTwoStage(a_data, settings));
  ASSIGN_OR_RETURN(const TwoStageTrainingResult b,
                   TrainTwoStage(b_data, settings));
  if (!a.retrieval.has_value() || !b.retrieval.has_value()) {
    return absl::InternalError("training made no retrieval embeddings");
  }

  const FoldedUsers folded = InModelASpace(split);
  ASSIGN_OR_RETURN(const FoldedModels models,
                   FoldIn(a, folded.seen, evaluation.threads));
  const EmbeddingScorer folded_retrieval(models.embeddings,
                                         a.retrieval->item_factors);
  result.fold_in_retrieval =
      EvaluateTopN(folded_retrieval, folded.seen, folded.test, evaluation);
  const EmbeddingScorer trained_retrieval(b.retrieval->user_factors,
                                          b.retrieval->item_factors);
  result.trained_retrieval =
      EvaluateTopN(trained_retrieval, b_data, split.test, evaluation);
  if (a.rating_trained) {
    // The first stage the server would run: the item-item model when the
    // settings rank with it. It needs no fold-in: a folded-in user's history
    // (the recent half) is the user.
    std::optional<ItemItemScorer> folded_item_item, trained_item_item;
    const ItemScorer& folded_first =
        a.item_item ? folded_item_item.emplace(*a.item_item, folded.seen)
                    : static_cast<const ItemScorer&>(folded_retrieval);
    const ItemScorer& trained_first =
        b.item_item ? trained_item_item.emplace(*b.item_item, b_data)
                    : static_cast<const ItemScorer&>(trained_retrieval);
    const SparseRatings folded_seen = GroupRatings(
        folded.seen.ratings, folded.seen.num_users(), RatingAxis::kUser);
    const TwoStageScorer folded_ranking(folded_first, models.rating,
                                        folded_seen, a.ranking);
    result.fold_in =
        EvaluateTopN(folded_ranking, folded.seen, folded.test, evaluation);
    const SparseRatings trained_seen =
        GroupRatings(b_data.ratings, b_data.num_users(), RatingAxis::kUser);
    const TwoStageScorer trained_ranking(trained_first, b.rating.train.model,
                                         trained_seen, b.ranking);
    result.trained =
        EvaluateTopN(trained_ranking, b_data, split.test, evaluation);
  } else {
    // Events: the retrieval model is the served ranking.
    result.fold_in = result.fold_in_retrieval;
    result.trained = result.trained_retrieval;
  }
  const PopularityScorer popularity(b_data);
  result.popularity = EvaluateTopN(popularity, b_data, split.test, evaluation);
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace recserve
