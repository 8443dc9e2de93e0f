#include "core/norm_ordered_scan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/dot_product.h"
#include "core/top_neighbors.h"

namespace recserve {
namespace {

// Dot rounds; |q|·|x| computed in double then widened by this much bounds
// the float Dot of 64..1000-dimensional rows from above with a wide margin
// (float accumulation errs by ~n·2^-24 relative to Σ|q_i x_i| ≤ |q||x|).
constexpr double kBoundSlack = 1e-4;

double NormOf(const float* v, int64_t n) {
  double squares = 0.0;
  for (int64_t i = 0; i < n; ++i) squares += double{v[i]} * v[i];
  return std::sqrt(squares);
}

}  // namespace

NormOrderedScan::NormOrderedScan(Eigen::Ref<const FactorMatrix> vectors,
                                 int32_t max_items)
    : rows_(static_cast<int32_t>(vectors.rows())),
      cols_(static_cast<int32_t>(vectors.cols())) {
  std::vector<double> norms(rows_);
  for (int32_t r = 0; r < rows_; ++r) {
    norms[r] = NormOf(vectors.row(r).data(), cols_);
  }
  const auto longer = [&](int32_t a, int32_t b) {
    return norms[a] > norms[b] || (norms[a] == norms[b] && a < b);
  };
  const int32_t head = std::clamp(max_items, 0, rows_);
  std::vector<int32_t> order(rows_);
  std::iota(order.begin(), order.end(), 0);
  if (head < rows_) {
    // The first `head` in order, and the longest of the rest right after.
    std::nth_element(order.begin(), order.begin() + head, order.end(), longer);
  }
  std::sort(order.begin(), order.begin() + head, longer);
  order_.assign(order.begin(), order.begin() + head);
  head_.resize(head, cols_);
  bound_.resize(head + 1, 0.0f);
  for (int32_t j = 0; j < head; ++j) {
    head_.row(j) = vectors.row(order_[j]);
    bound_[j] = static_cast<float>(norms[order_[j]] * (1.0 + kBoundSlack));
  }
  if (head < rows_) {
    bound_[head] = static_cast<float>(norms[order[head]] * (1.0 + kBoundSlack));
  }
}

NormScanResult NormOrderedScan::Top(absl::Span<const float> query,
                                    int32_t k) const {
  return Top(query, k, [](int32_t) { return false; });
}

NormScanResult NormOrderedScan::Top(
    absl::Span<const float> query, int32_t k,
    absl::FunctionRef<bool(int32_t row)> skip) const {
  NormScanResult result;
  if (k < 1 || query.size() != static_cast<size_t>(cols_) || rows_ == 0) {
    return result;
  }
  const auto query_norm =
      static_cast<float>(NormOf(query.data(), cols_) * (1.0 + kBoundSlack));
  TopNeighbors top(static_cast<size_t>(std::min(k, rows_)));
  const auto head = static_cast<int32_t>(order_.size());
  // Strictly below: an unread row could still tie the worst kept one and
  // win on the lower row. `worst` caches the worst kept score once full (the
  // comparisons below are false for NaN, which then takes the slow path).
  bool full = false;
  float worst = 0.0f;
  const auto settled = [&](int32_t j) {
    return full && query_norm * bound_[j] < worst;
  };
  // Scores a block of rows at a time: independent dot products in a tight
  // loop overlap in the CPU; the few computed past the stop are wasted.
  constexpr int32_t kBlock = 16;
  float scores[kBlock];
  int32_t j = 0;
  while (j < head && !settled(j)) {
    const int32_t block = std::min(kBlock, head - j);
    for (int32_t b = 0; b < block; ++b) {
      scores[b] = Dot(query.data(), head_.row(j + b).data(), cols_);
    }
    for (int32_t b = 0; b < block && !settled(j); ++b, ++j) {
      if (full && scores[b] < worst) continue;  // most rows: cannot enter
      const IndexNeighbor candidate{order_[j], scores[b]};
      if (top.Admits(candidate) && !skip(candidate.item)) {
        top.Offer(candidate);
        full = top.full();
        if (full) worst = top.worst().score;
      }
    }
  }
  result.items_read = j;
  result.exact = j == rows_ || settled(j);
  result.top = top.Take();
  return result;
}

}  // namespace recserve
