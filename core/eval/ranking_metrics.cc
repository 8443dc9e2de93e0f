#include "core/eval/ranking_metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/data/ratings.h"

namespace recserve {
namespace {

bool IsRelevant(int32_t item, absl::Span<const int32_t> relevant) {
  return item != kUnknownIndex &&
         std::binary_search(relevant.begin(), relevant.end(), item);
}

size_t Cutoff(absl::Span<const int32_t> ranked, int32_t k) {
  return std::min(ranked.size(), static_cast<size_t>(std::max(k, 0)));
}

double Discount(int64_t rank) {
  return 1.0 / std::log2(static_cast<double>(rank) + 2.0);
}

}  // namespace

int32_t HitsAtK(absl::Span<const int32_t> ranked,
                absl::Span<const int32_t> relevant, int32_t k) {
  assert(std::is_sorted(relevant.begin(), relevant.end()));
  int32_t hits = 0;
  const size_t n = Cutoff(ranked, k);
  for (size_t j = 0; j < n; ++j) hits += IsRelevant(ranked[j], relevant);
  return hits;
}

double PrecisionAtK(absl::Span<const int32_t> ranked,
                    absl::Span<const int32_t> relevant, int32_t k) {
  if (k <= 0) return 0;
  return static_cast<double>(HitsAtK(ranked, relevant, k)) / k;
}

double RecallAtK(absl::Span<const int32_t> ranked,
                 absl::Span<const int32_t> relevant, int32_t k) {
  if (relevant.empty()) return 0;
  return static_cast<double>(HitsAtK(ranked, relevant, k)) /
         static_cast<double>(relevant.size());
}

double NdcgAtK(absl::Span<const int32_t> ranked,
               absl::Span<const int32_t> relevant, int32_t k) {
  assert(std::is_sorted(relevant.begin(), relevant.end()));
  if (relevant.empty() || k <= 0) return 0;
  double dcg = 0;
  const size_t n = Cutoff(ranked, k);
  for (size_t j = 0; j < n; ++j) {
    if (IsRelevant(ranked[j], relevant)) dcg += Discount(j);
  }
  double ideal = 0;
  const size_t ideal_n = std::min(relevant.size(), static_cast<size_t>(k));
  for (size_t j = 0; j < ideal_n; ++j) ideal += Discount(j);
  return dcg / ideal;
}

double HitAtK(absl::Span<const int32_t> ranked,
              absl::Span<const int32_t> relevant, int32_t k) {
  return HitsAtK(ranked, relevant, k) > 0 ? 1.0 : 0.0;
}

double AveragePrecisionAtK(absl::Span<const int32_t> ranked,
                           absl::Span<const int32_t> relevant, int32_t k) {
  assert(std::is_sorted(relevant.begin(), relevant.end()));
  if (relevant.empty() || k <= 0) return 0;
  double sum = 0;
  int64_t hits = 0;
  const size_t n = Cutoff(ranked, k);
  for (size_t j = 0; j < n; ++j) {
    if (!IsRelevant(ranked[j], relevant)) continue;
    ++hits;
    sum += static_cast<double>(hits) / static_cast<double>(j + 1);
  }
  return sum /
         static_cast<double>(std::min(relevant.size(), static_cast<size_t>(k)));
}

int64_t RankAmong(float target, absl::Span<const float> others) {
  if (std::isnan(target)) return static_cast<int64_t>(others.size());
  int64_t rank = 0;
  for (float s : others) rank += s >= target;
  return rank;
}

double HitForRank(int64_t rank, int32_t k) { return rank < k ? 1.0 : 0.0; }

double NdcgForRank(int64_t rank, int32_t k) {
  return rank < k ? Discount(rank) : 0.0;
}

}  // namespace recserve
