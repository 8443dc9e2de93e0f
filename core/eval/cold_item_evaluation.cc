#include "core/eval/cold_item_evaluation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/top_k.h"
#include "core/eval/ranking_metrics.h"

namespace recserve {
namespace {

constexpr int64_t kUsersPerChunk = 16;
// Random pairs for MeasureLabelAgreementOf: at least this many per query
// and in all (a share from 20,000 pairs has a standard error below 0.004).
constexpr int64_t kRandomPairsPerQuery = 20;
constexpr int64_t kRandomPairs = 20000;

// `items` sorted ascending without repeats.
std::vector<int32_t> SortedDistinct(absl::Span<const int32_t> items) {
  std::vector<int32_t> out(items.begin(), items.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The number of distinct items of `row`.
int64_t DistinctCount(absl::Span<const int32_t> row) {
  if (row.size() <= 1) return static_cast<int64_t>(row.size());
  return static_cast<int64_t>(SortedDistinct(row).size());
}

// Σ_{j < n} 1 / log2(j + 2): the DCG of n relevant items at the top.
double TopDcg(int64_t n) {
  double sum = 0;
  for (int64_t j = 0; j < n; ++j) sum += 1.0 / std::log2(j + 2.0);
  return sum;
}

struct UserRanking {
  bool measured = false;
  double hit = 0, ndcg = 0;
};

// One worker's buffers, sized on first use.
struct RankWorker {
  std::vector<float> scores;
  TopK<> top{0};
  std::vector<ScoredItem> best;
  std::vector<int32_t> ranked, relevant;
};

}  // namespace

ColdItemRanking RankHeldOutItems(const ItemScorer& scorer,
                                 absl::Span<const int32_t> held_out,
                                 const SparseRatings& relevant, int32_t k,
                                 int32_t threads) {
  const int32_t num_items = scorer.num_items();
  // Distinct held-out items the scorer knows; their order does not matter,
  // ties go to the lower item whatever it is.
  std::vector<int32_t> candidates;
  for (const int32_t item : SortedDistinct(held_out)) {
    if (item >= 0 && item < num_items) candidates.push_back(item);
  }
  const int32_t users = std::max(relevant.rows(), 0);
  const size_t cutoff =
      static_cast<size_t>(std::clamp<int64_t>(k, 0, candidates.size()));
  std::vector<UserRanking> results(users);
  std::vector<RankWorker> workers(ResolveThreads(threads));
  ParallelFor(
      users, threads,
      [&](int64_t begin, int64_t end, int32_t worker) {
        RankWorker& w = workers[worker];
        if (w.scores.empty()) {
          w.scores.resize(num_items);
          w.top = TopK<>(cutoff);
        }
        for (int64_t u = begin; u < end; ++u) {
          const int32_t user = static_cast<int32_t>(u);
          if (relevant.RowSize(user) == 0) continue;
          w.relevant.assign(relevant.Row(user).begin(),
                            relevant.Row(user).end());
          std::sort(w.relevant.begin(), w.relevant.end());
          w.relevant.erase(std::unique(w.relevant.begin(), w.relevant.end()),
                           w.relevant.end());
          scorer.ScoreItems(user, absl::MakeSpan(w.scores));
          for (const int32_t item : candidates) {
            w.top.Offer({item, w.scores[item]});
          }
          w.top.TakeInto(&w.best);
          w.ranked.clear();
          for (const ScoredItem& s : w.best) w.ranked.push_back(s.item);
          UserRanking& r = results[u];
          r.measured = true;
          r.hit = HitAtK(w.ranked, w.relevant, k);
          r.ndcg = NdcgAtK(w.ranked, w.relevant, k);
        }
      },
      kUsersPerChunk);
  // Summed in user order, so that the result does not depend on threads.
  ColdItemRanking out;
  int64_t measured = 0;
  for (const UserRanking& r : results) {
    if (!r.measured) continue;
    ++measured;
    out.hit_rate += r.hit;
    out.ndcg += r.ndcg;
  }
  if (measured > 0) {
    out.hit_rate /= static_cast<double>(measured);
    out.ndcg /= static_cast<double>(measured);
  }
  return out;
}

ColdItemRanking ExpectedRandomRanking(int32_t num_held_out,
                                      const SparseRatings& relevant,
                                      int32_t k) {
  ColdItemRanking out;
  const int64_t m = std::max(num_held_out, 0);
  if (k <= 0 || m == 0) {
    return out;
  }
  const int64_t top = std::min<int64_t>(k, m);
  // Every position j < top holds a given relevant item with probability
  // 1 / m, so E[DCG] = (r / m) · TopDcg(top).
  const double top_dcg = TopDcg(top);
  // The ideal DCG by number of relevant items, computed once each.
  std::map<int64_t, std::pair<double, double>> by_relevant;  // r -> (HR, NDCG)
  int64_t measured = 0;
  for (int32_t user = 0; user < relevant.rows(); ++user) {
    if (relevant.RowSize(user) == 0) continue;
    ++measured;
    const int64_t r = std::min(DistinctCount(relevant.Row(user)), m);
    auto [it, inserted] = by_relevant.try_emplace(r);
    if (inserted) {
      // P(no relevant item in the top) = C(m - r, top) / C(m, top)
      //   = Π_{j < top} (m - r - j) / (m - j), each factor in [0, 1).
      double miss = 1.0;
      for (int64_t j = 0; j < top && miss > 0; ++j) {
        miss *= static_cast<double>(std::max<int64_t>(m - r - j, 0)) /
                static_cast<double>(m - j);
      }
      const double dcg =
          static_cast<double>(r) / static_cast<double>(m) * top_dcg;
      it->second = {1.0 - miss, dcg / TopDcg(std::min(r, top))};
    }
    out.hit_rate += it->second.first;
    out.ndcg += it->second.second;
  }
  if (measured > 0) {
    out.hit_rate /= static_cast<double>(measured);
    out.ndcg /= static_cast<double>(measured);
  }
  return out;
}

std::vector<float> LabelPopularityScores(
    const std::vector<std::vector<std::string>>& labels,
    absl::Span<const int32_t> popularity, const std::vector<bool>& warm) {
  const size_t n = labels.size();
  auto is_warm = [&](size_t i) {
    return i < warm.size() && warm[i] && i < popularity.size();
  };
  // Per label: (sum of popularity, number of warm items carrying it).
  std::map<std::string, std::pair<double, int64_t>, std::less<>> by_label;
  double warm_sum = 0;
  int64_t warm_count = 0;
  std::vector<std::string> distinct;
  auto distinct_labels = [&](size_t i) -> const std::vector<std::string>& {
    distinct = labels[i];
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()),
                   distinct.end());
    return distinct;
  };
  for (size_t i = 0; i < n; ++i) {
    if (!is_warm(i)) continue;
    warm_sum += popularity[i];
    ++warm_count;
    for (const std::string& label : distinct_labels(i)) {
      auto& [sum, count] = by_label[label];
      sum += popularity[i];
      ++count;
    }
  }
  const double warm_mean =
      warm_count > 0 ? warm_sum / static_cast<double>(warm_count) : 0.0;
  std::vector<float> scores(n, static_cast<float>(warm_mean));
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    int64_t known = 0;
    for (const std::string& label : distinct_labels(i)) {
      const auto it = by_label.find(label);
      if (it == by_label.end()) continue;
      sum += it->second.first / static_cast<double>(it->second.second);
      ++known;
    }
    if (known > 0) scores[i] = static_cast<float>(sum / known);
  }
  return scores;
}

std::optional<GenreAgreement> MeasureLabelAgreementOf(
    const FactorMatrix& item_vectors,
    const std::vector<std::vector<std::string>>& labels,
    absl::Span<const int32_t> query_items, int32_t k, uint64_t seed,
    int32_t threads) {
  const int32_t rows = static_cast<int32_t>(
      std::min<int64_t>(labels.size(), item_vectors.rows()));
  auto has_labels = [&](int32_t i) {
    return i >= 0 && i < rows && !labels[i].empty();
  };
  std::vector<int32_t> known;  // ascending
  for (int32_t i = 0; i < rows; ++i) {
    if (has_labels(i)) known.push_back(i);
  }
  std::vector<int32_t> queries;
  for (const int32_t item : SortedDistinct(query_items)) {
    if (has_labels(item)) queries.push_back(item);
  }
  if (known.size() < 2 || queries.empty() || k < 1) return std::nullopt;
  GenreAgreement out;
  out.items = static_cast<int64_t>(queries.size());
  out.neighbours =
      NeighbourLabelShare(item_vectors, labels, known, queries, k, threads);
  // Random pairs (query, another labelled item), drawn per query from a
  // stream of (seed, query): the same for the seed whatever else changes.
  const int64_t per_query = std::max<int64_t>(
      kRandomPairsPerQuery,
      (kRandomPairs + static_cast<int64_t>(queries.size()) - 1) /
          static_cast<int64_t>(queries.size()));
  int64_t shared = 0, pairs = 0;
  for (const int32_t query : queries) {
    const size_t self =
        std::lower_bound(known.begin(), known.end(), query) - known.begin();
    RandomStream rng(seed, static_cast<uint64_t>(query));
    for (int64_t p = 0; p < per_query; ++p) {
      size_t j = rng.Below(known.size() - 1);
      if (j >= self) ++j;  // every labelled item but the query
      shared += ShareLabel(labels[query], labels[known[j]]);
      ++pairs;
    }
  }
  out.random = static_cast<double>(shared) / static_cast<double>(pairs);
  return out;
}

}  // namespace recserve
