#ifndef RECSERVE_CORE_INDEX_TOP_NEIGHBORS_H_
#define RECSERVE_CORE_INDEX_TOP_NEIGHBORS_H_

#include <algorithm>
#include <cstddef>
#include <vector>

#include "core/index/item_index.h"

namespace recserve {

// The best `capacity` neighbors offered so far, in BetterNeighbor order.
// Not thread-safe; one per search.
class TopNeighbors {
 public:
  explicit TopNeighbors(size_t capacity) : capacity_(capacity) {
    heap_.reserve(capacity);
  }

  void Offer(const IndexNeighbor& candidate) {
    if (heap_.size() < capacity_) {
      heap_.push_back(candidate);
      std::push_heap(heap_.begin(), heap_.end(), BetterNeighborOrder());
    } else if (capacity_ > 0 && BetterNeighbor(candidate, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), BetterNeighborOrder());
      heap_.back() = candidate;
      std::push_heap(heap_.begin(), heap_.end(), BetterNeighborOrder());
    }
  }

  // Whether Offer would keep `candidate`.
  bool Admits(const IndexNeighbor& candidate) const {
    return heap_.size() < capacity_ ||
           (capacity_ > 0 && BetterNeighbor(candidate, heap_.front()));
  }

  bool full() const { return heap_.size() == capacity_; }
  // The worst kept; only when not empty.
  const IndexNeighbor& worst() const { return heap_.front(); }

  // Best first; leaves this empty.
  std::vector<IndexNeighbor> Take() {
    std::sort_heap(heap_.begin(), heap_.end(), BetterNeighborOrder());
    return std::move(heap_);
  }

 private:
  size_t capacity_;
  std::vector<IndexNeighbor> heap_;  // worst on top
};

}  // namespace recserve

#endif  // RECSERVE_CORE_INDEX_TOP_NEIGHBORS_H_
