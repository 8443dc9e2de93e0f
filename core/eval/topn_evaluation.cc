#include "core/eval/topn_evaluation.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/top_k.h"
#include "core/data/sparse_ratings.h"
#include "core/eval/ranking_metrics.h"

namespace recserve {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kUsersPerChunk = 16;

// The sampling streams start at these states as given (RandomStream::
// FromState), which keeps the sampled users and negatives what they were.
RandomStream UserSampleStream(uint64_t seed) {
  return RandomStream::FromState(seed ^ 0x5eed5eed5eed5eedULL);
}
RandomStream NegativesStream(uint64_t seed, int32_t user) {
  return RandomStream::FromState(seed * 0x9e3779b97f4a7c15ULL +
                                 static_cast<uint64_t>(user));
}

struct UserResult {
  bool full = false;  // had a relevant item, so full-ranking metrics are set
  bool loo = false;   // had a test rating >= 0, so loo_* are set
  double precision = 0, recall = 0, ndcg = 0, hit_rate = 0, map = 0;
  double loo_hr = 0, loo_ndcg = 0;
};

// Everything one worker thread needs, sized once per worker. The *_mark
// arrays hold the index of the last user that marked the item, so they never
// need clearing.
struct Worker {
  std::vector<float> scores;
  std::vector<int32_t> train_mark, test_mark, chosen_mark;
  // Per scorer: whether an item was in any of its top-k lists.
  std::vector<std::vector<uint8_t>> recommended;
  std::vector<int32_t> relevant, ranked, negatives, pool;
  std::vector<float> negative_scores;
  TopK<> top{0};
  std::vector<ScoredItem> best;  // top's result, storage swapped with it

  void Init(int32_t num_items, int32_t k, int32_t negatives_wanted,
            size_t num_scorers) {
    if (!scores.empty() || num_items == 0) return;
    scores.resize(num_items);
    train_mark.assign(num_items, kUnknownIndex);
    test_mark.assign(num_items, kUnknownIndex);
    chosen_mark.assign(num_items, kUnknownIndex);
    recommended.assign(num_scorers, std::vector<uint8_t>(num_items, 0));
    ranked.reserve(std::min(k, num_items));
    top = TopK<>(static_cast<size_t>(std::min(k, num_items)));
    best.reserve(std::min(k, num_items));
    negatives.reserve(negatives_wanted);
    negative_scores.reserve(negatives_wanted);
  }
};

class Evaluator {
 public:
  // Every scorer must have the same num_items().
  Evaluator(absl::Span<const ItemScorer* const> scorers, const Dataset& train,
            absl::Span<const Rating> test, const TopNOptions& options)
      : scorers_(scorers),
        test_(test),
        options_(options),
        num_items_(scorers.empty() ? 0 : scorers.front()->num_items()),
        k_(std::max(options.k, 1)),
        negatives_wanted_(
            std::min(std::max(options.loo_negatives, 0), num_items_)),
        train_(
            GroupRatings(train.ratings, train.num_users(), RatingAxis::kUser)),
        test_by_user_(
            GroupRatingPositions(test, train.num_users(), RatingAxis::kUser)) {}

  std::vector<TopNMetrics> Run() {
    const std::vector<int32_t> users = ChooseUsers();
    const size_t m = scorers_.size();
    // results[j * m + s]: user j under scorer s.
    std::vector<UserResult> results(users.size() * m);
    std::vector<Worker> workers(ResolveThreads(options_.threads));
    for (Worker& w : workers) w.relevant.reserve(max_test_per_user_);
    ParallelFor(
        static_cast<int64_t>(users.size()), options_.threads,
        [&](int64_t begin, int64_t end, int32_t worker) {
          Worker& w = workers[worker];
          w.Init(num_items_, k_, negatives_wanted_, m);
          for (int64_t j = begin; j < end; ++j) {
            EvaluateUser(users[j], w,
                         absl::MakeSpan(results).subspan(j * m, m));
          }
        },
        kUsersPerChunk);
    std::vector<TopNMetrics> metrics;
    for (size_t s = 0; s < m; ++s) {
      metrics.push_back(Aggregate(results, m, s, workers));
    }
    return metrics;
  }

 private:
  bool KnownItem(int32_t item) const { return item >= 0 && item < num_items_; }

  // Training users with a test rating, or a seeded sample of max_users of
  // them, in ascending order.
  std::vector<int32_t> ChooseUsers() {
    std::vector<int32_t> users;
    for (int32_t u = 0; u < test_by_user_.rows(); ++u) {
      const int64_t size = test_by_user_.RowSize(u);
      max_test_per_user_ = std::max(max_test_per_user_, size);
      if (size > 0) users.push_back(u);
    }
    const size_t wanted = static_cast<size_t>(options_.max_users);
    if (options_.max_users > 0 && wanted < users.size()) {
      RandomStream rng = UserSampleStream(options_.seed);
      for (size_t j = 0; j < wanted; ++j) {
        std::swap(users[j], users[j + rng.Below(users.size() - j)]);
      }
      users.resize(wanted);
      std::sort(users.begin(), users.end());
    }
    return users;
  }

  // Fills out[s] for scorers_[s]. The user's items, negatives and relevant
  // set are worked out once, for every scorer.
  void EvaluateUser(int32_t user, Worker& w, absl::Span<UserResult> out) const {
    if (num_items_ == 0) return;
    // Mark the user's training and test items; count the distinct ones.
    int32_t rated = 0;
    for (const int32_t item : train_.Row(user)) {
      if (!KnownItem(item) || w.train_mark[item] == user) continue;
      w.train_mark[item] = user;
      ++rated;
    }
    const absl::Span<const int64_t> positions = test_by_user_.Row(user);
    // The latest positive (value >= 0) test rating, or -1.
    int64_t latest = -1;
    for (int64_t p : positions) {
      const Rating& r = test_[p];
      if (r.value >= 0 &&
          (latest < 0 || r.timestamp >= test_[latest].timestamp)) {
        latest = p;
      }
      if (!KnownItem(r.item) || w.test_mark[r.item] == user) continue;
      w.test_mark[r.item] = user;
      rated += w.train_mark[r.item] != user;
    }
    const int32_t positive = latest >= 0 ? test_[latest].item : kUnknownIndex;
    if (KnownItem(positive)) {
      SampleNegatives(user, std::min(negatives_wanted_, num_items_ - rated),
                      num_items_ - rated, w);
    }
    const bool any_relevant = RelevantItems(positions, w);
    for (size_t s = 0; s < scorers_.size(); ++s) {
      UserResult& result = out[s];
      scorers_[s]->ScoreItems(user, absl::MakeSpan(w.scores));
      if (latest >= 0) {
        result.loo = true;
        LeaveOneOut(positive, w, result);
      }
      if (any_relevant) FullRanking(user, w, w.recommended[s], result);
    }
  }

  // Scores w.negatives (SampleNegatives) against the positive.
  void LeaveOneOut(int32_t positive, Worker& w, UserResult& result) const {
    if (!KnownItem(positive)) return;  // a miss
    w.negative_scores.clear();
    for (int32_t item : w.negatives)
      w.negative_scores.push_back(w.scores[item]);
    const int64_t rank = RankAmong(w.scores[positive], w.negative_scores);
    result.loo_hr = HitForRank(rank, k_);
    result.loo_ndcg = NdcgForRank(rank, k_);
  }

  // Draws `wanted` of the user's `unrated` items into w.negatives, seeded by
  // (seed, user) only.
  void SampleNegatives(int32_t user, int32_t wanted, int32_t unrated,
                       Worker& w) const {
    w.negatives.clear();
    if (wanted == 0) return;
    RandomStream rng = NegativesStream(options_.seed, user);
    auto rated = [&](int32_t item) {
      return w.train_mark[item] == user || w.test_mark[item] == user;
    };
    if (static_cast<int64_t>(unrated - wanted) * 8 >= num_items_) {
      // Rejection sampling: at least 1 in 8 draws is accepted.
      while (static_cast<int32_t>(w.negatives.size()) < wanted) {
        const int32_t item = static_cast<int32_t>(rng.Below(num_items_));
        if (rated(item) || w.chosen_mark[item] == user) continue;
        w.chosen_mark[item] = user;
        w.negatives.push_back(item);
      }
      return;
    }
    // Nearly everything is rated: list the unrated items and take a partial
    // Fisher-Yates shuffle of them.
    if (w.pool.capacity() == 0) w.pool.reserve(num_items_);
    w.pool.clear();
    for (int32_t item = 0; item < num_items_; ++item) {
      if (!rated(item)) w.pool.push_back(item);
    }
    for (int32_t j = 0; j < wanted; ++j) {
      std::swap(w.pool[j], w.pool[j + rng.Below(w.pool.size() - j)]);
      w.negatives.push_back(w.pool[j]);
    }
  }

  // Fills w.relevant with the user's relevant test items, sorted, known
  // ones once; whether there is any.
  bool RelevantItems(absl::Span<const int64_t> positions, Worker& w) const {
    w.relevant.clear();
    for (int64_t p : positions) {
      const Rating& r = test_[p];
      if (r.value < options_.relevance_threshold) continue;
      w.relevant.push_back(KnownItem(r.item) ? r.item : kUnknownIndex);
    }
    // Sort, and drop repeated known items (a repeated kUnknownIndex stands
    // for distinct unknown items).
    std::sort(w.relevant.begin(), w.relevant.end());
    w.relevant.erase(std::unique(w.relevant.begin(), w.relevant.end(),
                                 [](int32_t a, int32_t b) {
                                   return a == b && a != kUnknownIndex;
                                 }),
                     w.relevant.end());
    return !w.relevant.empty();
  }

  // Ranks w.scores against w.relevant (RelevantItems, not empty).
  void FullRanking(int32_t user, Worker& w, std::vector<uint8_t>& recommended,
                   UserResult& result) const {
    // The top k unseen items with a score.
    for (int32_t item = 0; item < num_items_; ++item) {
      const float s = w.scores[item];
      if (w.train_mark[item] == user || std::isnan(s)) continue;
      w.top.Offer({item, s});
    }
    w.top.TakeInto(&w.best);
    w.ranked.clear();
    for (const ScoredItem& s : w.best) {
      w.ranked.push_back(s.item);
      recommended[s.item] = 1;
    }
    result.full = true;
    result.precision = PrecisionAtK(w.ranked, w.relevant, k_);
    result.recall = RecallAtK(w.ranked, w.relevant, k_);
    result.ndcg = NdcgAtK(w.ranked, w.relevant, k_);
    result.hit_rate = HitAtK(w.ranked, w.relevant, k_);
    result.map = AveragePrecisionAtK(w.ranked, w.relevant, k_);
  }

  // Scorer s's metrics from results (m per user).
  TopNMetrics Aggregate(const std::vector<UserResult>& results, size_t stride,
                        size_t s, const std::vector<Worker>& workers) const {
    TopNMetrics m;
    double precision = 0, recall = 0, ndcg = 0, hit_rate = 0, map = 0;
    double loo_hr = 0, loo_ndcg = 0;
    for (size_t j = s; j < results.size(); j += stride) {
      const UserResult& r = results[j];
      if (r.loo) {
        ++m.loo_users;
        loo_hr += r.loo_hr;
        loo_ndcg += r.loo_ndcg;
      }
      if (!r.full) continue;
      ++m.users;
      precision += r.precision;
      recall += r.recall;
      ndcg += r.ndcg;
      hit_rate += r.hit_rate;
      map += r.map;
    }
    const double users = static_cast<double>(m.users);
    const double loo_users = static_cast<double>(m.loo_users);
    m.precision = m.users > 0 ? precision / users : kNaN;
    m.recall = m.users > 0 ? recall / users : kNaN;
    m.ndcg = m.users > 0 ? ndcg / users : kNaN;
    m.hit_rate = m.users > 0 ? hit_rate / users : kNaN;
    m.map = m.users > 0 ? map / users : kNaN;
    m.loo_hr = m.loo_users > 0 ? loo_hr / loo_users : kNaN;
    m.loo_ndcg = m.loo_users > 0 ? loo_ndcg / loo_users : kNaN;
    m.coverage = kNaN;
    if (m.users > 0 && num_items_ > 0) {
      int64_t covered = 0;
      for (int32_t item = 0; item < num_items_; ++item) {
        for (const Worker& w : workers) {
          if (!w.recommended.empty() && w.recommended[s][item]) {
            ++covered;
            break;
          }
        }
      }
      m.coverage = static_cast<double>(covered) / num_items_;
    }
    return m;
  }

  const absl::Span<const ItemScorer* const> scorers_;
  const absl::Span<const Rating> test_;
  const TopNOptions& options_;
  const int32_t num_items_;
  const int32_t k_;
  const int32_t negatives_wanted_;
  const SparseRatings train_;           // items by training user
  const RatingPositions test_by_user_;  // positions in test_ by user
  int64_t max_test_per_user_ = 0;
};

}  // namespace

TopNMetrics EvaluateTopN(const ItemScorer& scorer, const Dataset& train,
                         absl::Span<const Rating> test,
                         const TopNOptions& options) {
  const ItemScorer* const scorers[] = {&scorer};
  return Evaluator(scorers, train, test, options).Run().front();
}

std::vector<TopNMetrics> EvaluateTopN(
    absl::Span<const ItemScorer* const> scorers, const Dataset& train,
    absl::Span<const Rating> test, const TopNOptions& options) {
  if (scorers.empty()) return {};
  for (const ItemScorer* scorer : scorers) {
    assert(scorer != nullptr &&
           scorer->num_items() == scorers.front()->num_items());
    (void)scorer;
  }
  return Evaluator(scorers, train, test, options).Run();
}

}  // namespace recserve
