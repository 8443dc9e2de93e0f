#include "core/index/norm_ordered_scan.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/dot_product.h"
#include "core/base/top_k.h"

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
    return RanksAhead(norms[a], a, norms[b], b);
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
  const auto keep = static_cast<size_t>(std::min(k, rows_));
  const auto head = static_cast<int32_t>(order_.size());
  // Candidates collect unordered and are cut back to the best `keep` when
  // twice that many have gathered: a few hundred comparisons per cut instead
  // of a heap update per candidate. `worst` is the keep-th best score at the
  // last cut (−∞ before), a lower bound of the final one: rows below it
  // cannot enter, and once every unread row's bound |q|·|x| is strictly
  // below it (an unread row could tie and win on the lower row) the answer
  // is settled. NaN scores (only from overflowing products) rank last and
  // wait apart, so the cuts compare numbers only.
  std::vector<ScoredItem> kept;
  kept.reserve(2 * keep);
  std::vector<ScoredItem> nans;
  float worst = -HUGE_VALF;
  const auto cut = [&kept, keep] {
    std::nth_element(kept.begin(), kept.begin() + (keep - 1), kept.end(),
                     RankingOrder());
    kept.resize(keep);
    return kept.back().score;
  };
  // A block's rows are scored together (Dot8), and the stop is checked per
  // block: rows read past it score below `worst` and are dropped.
  constexpr int32_t kBlock = 8;
  float scores[kBlock] = {};
  int32_t j = 0;
  while (j < head && !(query_norm * bound_[j] < worst)) {
    const int32_t block = std::min(kBlock, head - j);
    if (block == kBlock) {
      Dot8(query.data(), head_.row(j).data(), cols_, cols_, scores);
    } else {
      for (int32_t b = 0; b < block; ++b) {
        scores[b] = Dot(query.data(), head_.row(j + b).data(), cols_);
      }
    }
    // Most blocks have no row that can enter: one test for all eight.
    bool any = false;
    for (int32_t b = 0; b < kBlock; ++b) any |= !(scores[b] < worst);
    for (int32_t b = 0; any && b < block; ++b) {
      if (scores[b] < worst) continue;
      const int32_t row = order_[j + b];
      if (skip(row)) continue;
      if (std::isnan(scores[b])) {
        nans.push_back({row, scores[b]});
        continue;
      }
      kept.push_back({row, scores[b]});
      if (kept.size() == 2 * keep) worst = cut();
    }
    j += block;
  }
  if (kept.size() > keep) worst = cut();
  std::sort(kept.begin(), kept.end(), RankingOrder());
  if (kept.size() < keep && !nans.empty()) {
    std::sort(nans.begin(), nans.end(), RankingOrder());
    nans.resize(std::min(nans.size(), keep - kept.size()));
    kept.insert(kept.end(), nans.begin(), nans.end());
  }
  result.items_read = j;
  result.exact = j == rows_ || query_norm * bound_[j] < worst;
  result.top = std::move(kept);
  return result;
}

}  // namespace recserve
