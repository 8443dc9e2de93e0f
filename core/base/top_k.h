#ifndef RECSERVE_CORE_BASE_TOP_K_H_
#define RECSERVE_CORE_BASE_TOP_K_H_

// The one ranking order of recserve, and the bounded top-k collector built on
// it. Every ranked list (retrieval results, similar items, the two-stage
// rerank, offline top-N lists) orders (item, score) pairs this way:
//   - higher score first;
//   - NaN after every number (−∞ included);
//   - equal scores, and NaNs among themselves, to the lower item.
// It is a strict weak order, so std::sort, heaps and partial sorts may use it.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace recserve {

// An item (a row of some catalog or matrix) with its score; higher is
// better.
struct ScoredItem {
  int32_t item = 0;
  float score = 0.0f;

  friend bool operator==(const ScoredItem&, const ScoredItem&) = default;
};

// Whether (score_a, item a) ranks ahead of (score_b, item b) in the order
// above. `Score` is any arithmetic type (NaN only matters for floating
// point).
template <typename Score>
inline bool RanksAhead(Score score_a, int32_t a, Score score_b, int32_t b) {
  if (score_a > score_b) return true;
  if (score_a < score_b) return false;
  if constexpr (std::is_floating_point_v<Score>) {
    // Equal, or at least one NaN: a number goes before a NaN.
    const bool nan_a = score_a != score_a;
    const bool nan_b = score_b != score_b;
    if (nan_a != nan_b) return nan_b;
  }
  return a < b;
}

// RanksAhead as a comparator type, so that std::sort and heaps inline it; for
// ScoredItem and any type with the members `item` and `score`.
struct RankingOrder {
  template <typename T>
  bool operator()(const T& a, const T& b) const {
    return RanksAhead(a.score, a.item, b.score, b.item);
  }
};

// The best `capacity` values offered so far, in RankingOrder. T is ScoredItem
// or any type with the members `item` (int32_t) and `score`; values rank by
// those alone. Offering an item twice may keep it twice. Not thread-safe: one
// per search (or per worker, reused: Take leaves it empty).
template <typename T = ScoredItem>
class TopK {
 public:
  // Reserves room for `capacity` values. Capacity 0 keeps nothing.
  explicit TopK(size_t capacity) : capacity_(capacity) {
    heap_.reserve(capacity);
  }

  // Keeps `value` if fewer than capacity() are kept or it ranks ahead of
  // worst(), which it then replaces. O(log capacity).
  void Offer(const T& value) {
    if (heap_.size() < capacity_) {
      heap_.push_back(value);
      std::push_heap(heap_.begin(), heap_.end(), RankingOrder());
    } else if (capacity_ > 0 && RankingOrder()(value, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), RankingOrder());
      heap_.back() = value;
      std::push_heap(heap_.begin(), heap_.end(), RankingOrder());
    }
  }

  // Whether Offer would keep `value`.
  bool Admits(const T& value) const {
    return heap_.size() < capacity_ ||
           (capacity_ > 0 && RankingOrder()(value, heap_.front()));
  }

  size_t capacity() const { return capacity_; }
  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  bool full() const { return heap_.size() >= capacity_; }
  // The worst value kept; only when not empty.
  const T& worst() const { return heap_.front(); }

  // The kept values, best first; leaves this empty (same capacity()).
  std::vector<T> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), RankingOrder());
    std::vector<T> best = std::move(heap_);
    heap_.clear();
    return best;
  }
  // Take into `*best` (replacing its contents). This collector keeps the
  // storage *best had, so a collector and a vector reused in turns allocate
  // nothing once both have grown to capacity().
  void TakeInto(std::vector<T>* best) {
    std::sort_heap(heap_.begin(), heap_.end(), RankingOrder());
    std::swap(heap_, *best);
    heap_.clear();
  }

 private:
  size_t capacity_;
  std::vector<T> heap_;  // worst on top
};

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_TOP_K_H_
