#include "core/synthetic/synthetic_exposure.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/synthetic/synthetic_rng.h"

namespace recserve::synthetic {
namespace {

// Walker/Vose alias table: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights)
      : prob_(weights.size()), alias_(weights.size()) {
    const size_t n = weights.size();
    double total = 0.0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<int32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<int32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const int32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (int32_t i : large) prob_[i] = 1.0, alias_[i] = i;
    for (int32_t i : small) prob_[i] = 1.0, alias_[i] = i;
  }
  int32_t Sample(Rng& rng) const {
    const uint64_t x = rng.Next();
    const uint64_t i = ((x >> 32) * prob_.size()) >> 32;
    const double u = static_cast<double>(x & 0xffffffffULL) * 0x1.0p-32;
    return u < prob_[i] ? static_cast<int32_t>(i) : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<int32_t> alias_;
};

// Popularity weights as integers in a binary sum tree, so that taking items
// out and putting them back is exact: the tree is identical before every
// user, whatever the worker did before.
class SumTree {
 public:
  explicit SumTree(const std::vector<uint64_t>& weights) {
    while (leaves_ < weights.size()) leaves_ *= 2;
    node_.assign(2 * leaves_, 0);
    std::copy(weights.begin(), weights.end(), node_.begin() + leaves_);
    for (size_t j = leaves_ - 1; j >= 1; --j) {
      node_[j] = node_[2 * j] + node_[2 * j + 1];
    }
  }
  uint64_t total() const { return node_[1]; }
  // The item whose cumulative weight range holds r, for r < total().
  int32_t Find(uint64_t r) const {
    size_t j = 1;
    while (j < leaves_) {
      j *= 2;
      if (r >= node_[j]) r -= node_[j++];
    }
    return static_cast<int32_t>(j - leaves_);
  }
  void Add(int32_t item, uint64_t delta) {  // Modular: use -w to subtract.
    for (size_t j = leaves_ + item; j >= 1; j /= 2) node_[j] += delta;
  }

 private:
  size_t leaves_ = 1;
  std::vector<uint64_t> node_;
};

}  // namespace

// Users whose items can hold at most kMaxRejectionMass of the popularity
// draw from an alias table and reject repeats (O(1) per draw, few repeats);
// heavier users draw from a sum tree with their items removed (O(log items)
// per draw). Both sample the same distribution.
class ExposureSampler::Rep {
 public:
  explicit Rep(const std::vector<uint64_t>& weights)
      : weights_(weights),
        alias_(std::vector<double>(weights.begin(), weights.end())),
        tree_(weights),
        taken_by_(weights.size(), -1) {
    std::vector<uint64_t> sorted = weights;
    std::sort(sorted.rbegin(), sorted.rend());
    const double limit = kMaxRejectionMass * static_cast<double>(tree_.total());
    double mass = 0.0;
    while (rejection_limit_ < static_cast<int32_t>(sorted.size()) &&
           (mass += static_cast<double>(sorted[rejection_limit_])) <= limit) {
      ++rejection_limit_;
    }
  }

  void SampleRatedItems(int32_t user, int32_t count, Rng& rng,
                        const std::function<double(int32_t)>& acceptance,
                        std::vector<int32_t>* items) {
    items->clear();
    if (count <= rejection_limit_) {
      while (static_cast<int32_t>(items->size()) < count) {
        const int32_t i = alias_.Sample(rng);
        if (taken_by_[i] == user) continue;
        if (rng.Uniform() >= acceptance(i)) continue;
        taken_by_[i] = user;
        items->push_back(i);
      }
      return;
    }
    for (int32_t j = 0; j < count; ++j) {
      int32_t i;
      do {
        i = tree_.Find(rng.Below64(tree_.total()));
      } while (rng.Uniform() >= acceptance(i));
      tree_.Add(i, -weights_[i]);
      items->push_back(i);
    }
    for (int32_t i : *items) tree_.Add(i, weights_[i]);
  }

 private:
  static constexpr double kMaxRejectionMass = 0.75;
  const std::vector<uint64_t>& weights_;
  const AliasTable alias_;
  SumTree tree_;
  std::vector<int32_t> taken_by_;  // The last user who took each item.
  int32_t rejection_limit_ = 0;
};

ExposureSampler::ExposureSampler(const std::vector<uint64_t>& weights)
    : rep_(std::make_unique<Rep>(weights)) {}
ExposureSampler::~ExposureSampler() = default;
ExposureSampler::ExposureSampler(ExposureSampler&&) noexcept = default;
ExposureSampler& ExposureSampler::operator=(ExposureSampler&&) noexcept =
    default;

void ExposureSampler::SampleRatedItems(
    int32_t user, int32_t count, Rng& rng,
    const std::function<double(int32_t)>& acceptance,
    std::vector<int32_t>* items) {
  rep_->SampleRatedItems(user, count, rng, acceptance, items);
}

}  // namespace recserve::synthetic
