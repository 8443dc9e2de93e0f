#include "core/eval/genre_agreement.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "core/base/parallel_for.h"
#include "core/base/top_k.h"

namespace recserve {

bool ShareLabel(const std::vector<std::string>& a,
                const std::vector<std::string>& b) {
  for (const std::string& g : a) {
    if (std::find(b.begin(), b.end(), g) != b.end()) return true;
  }
  return false;
}

double NeighbourLabelShare(const FactorMatrix& item_vectors,
                           const std::vector<std::vector<std::string>>& labels,
                           absl::Span<const int32_t> candidates,
                           absl::Span<const int32_t> queries, int32_t k,
                           int32_t threads) {
  // Cosine similarity = dot product of unit rows.
  FactorMatrix unit = item_vectors;
  for (Eigen::Index i = 0; i < unit.rows(); ++i) {
    const float norm = unit.row(i).norm();
    if (norm > 0) unit.row(i) /= norm;
  }
  const int32_t neighbours = std::min<int32_t>(k, candidates.size() - 1);
  // Counts per query, summed in query order below: independent of threads.
  std::vector<int64_t> shared(queries.size(), 0);
  ParallelFor(static_cast<int64_t>(queries.size()), threads,
              [&](int64_t begin, int64_t end, int32_t) {
                TopK<> top(neighbours);
                std::vector<ScoredItem> nearest;
                for (int64_t m = begin; m < end; ++m) {
                  const int32_t item = queries[m];
                  for (const int32_t other : candidates) {
                    if (other == item) continue;
                    top.Offer({other, unit.row(item).dot(unit.row(other))});
                  }
                  top.TakeInto(&nearest);
                  for (const ScoredItem& n : nearest) {
                    shared[m] += ShareLabel(labels[item], labels[n.item]);
                  }
                }
              });
  return static_cast<double>(
             std::accumulate(shared.begin(), shared.end(), int64_t{0})) /
         (static_cast<double>(queries.size()) * neighbours);
}

std::optional<GenreAgreement> MeasureGenreAgreement(
    const FactorMatrix& item_vectors,
    const std::vector<std::vector<std::string>>& genres, int32_t k,
    int32_t max_items, uint64_t seed, int32_t threads) {
  std::vector<int32_t> known;
  for (int32_t i = 0;
       i < static_cast<int32_t>(genres.size()) && i < item_vectors.rows();
       ++i) {
    if (!genres[i].empty()) known.push_back(i);
  }
  if (known.size() < 2 || k < 1) return std::nullopt;
  std::mt19937_64 rng(seed);
  std::vector<int32_t> measured = known;
  std::shuffle(measured.begin(), measured.end(), rng);
  if (static_cast<int32_t>(measured.size()) > max_items) {
    measured.resize(max_items);
  }
  GenreAgreement out;
  out.items = static_cast<int64_t>(measured.size());
  out.neighbours =
      NeighbourLabelShare(item_vectors, genres, known, measured, k, threads);
  std::uniform_int_distribution<size_t> pick(0, known.size() - 1);
  int64_t random_shared = 0, pairs = 0;
  for (int32_t p = 0; p < 20000; ++p) {
    const int32_t a = known[pick(rng)], b = known[pick(rng)];
    if (a == b) continue;
    random_shared += ShareLabel(genres[a], genres[b]);
    ++pairs;
  }
  out.random = pairs > 0 ? static_cast<double>(random_shared) / pairs : 0;
  return out;
}

}  // namespace recserve
