#include "core/model/item_scorer.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <vector>

namespace recserve {

void MfScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  assert(scores.size() == static_cast<size_t>(num_items()));
  Eigen::Map<Eigen::VectorXf> out(scores.data(), num_items());
  if (user == kUnknownIndex) {
    out = model_.item_bias.array() + model_.global_mean;
    return;
  }
  out.noalias() =
      model_.item_factors * model_.user_factors.row(user).transpose();
  out += model_.item_bias;
  out.array() += model_.global_mean + model_.user_bias[user];
}

void EmbeddingScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  assert(scores.size() == static_cast<size_t>(num_items()));
  Eigen::Map<Eigen::VectorXf> out(scores.data(), num_items());
  if (user == kUnknownIndex) {
    out.setZero();
    return;
  }
  out.noalias() = items_ * users_.row(user).transpose();
}

namespace {

std::atomic<uint64_t> memoized_generations{0};

}  // namespace

MemoizedScorer::MemoizedScorer(const ItemScorer& inner)
    : inner_(inner), generation_(++memoized_generations) {}

void MemoizedScorer::ScoreItems(int32_t user, absl::Span<float> scores) const {
  struct Memo {
    uint64_t generation = 0;
    int32_t user = kUnknownIndex;
    std::vector<float> scores;
  };
  thread_local Memo memo;
  if (memo.generation == generation_ && memo.user == user &&
      memo.scores.size() == scores.size()) {
    std::copy(memo.scores.begin(), memo.scores.end(), scores.begin());
    return;
  }
  // Scored into the caller's span first: an inner scorer that is itself
  // memoized uses the same thread's memo.
  inner_.ScoreItems(user, scores);
  memo.scores.assign(scores.begin(), scores.end());
  memo.generation = generation_;
  memo.user = user;
}

PopularityScorer::PopularityScorer(const Dataset& train)
    : counts_(train.num_items(), 0.0f) {
  std::vector<int64_t> counts(counts_.size(), 0);
  for (const Rating& r : train.ratings) {
    // A negative interaction (a dislike) is no vote for the item.
    if (r.item >= 0 && r.item < num_items() && r.value >= 0) ++counts[r.item];
  }
  std::copy(counts.begin(), counts.end(), counts_.begin());
}

void PopularityScorer::ScoreItems(int32_t /*user*/,
                                  absl::Span<float> scores) const {
  assert(scores.size() == counts_.size());
  std::copy(counts_.begin(), counts_.end(), scores.begin());
}

void FixedScorer::ScoreItems(int32_t /*user*/, absl::Span<float> scores) const {
  std::copy_n(scores_.begin(), std::min(scores.size(), scores_.size()),
              scores.begin());
}

}  // namespace recserve
