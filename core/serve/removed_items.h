#ifndef RECSERVE_CORE_SERVE_REMOVED_ITEMS_H_
#define RECSERVE_CORE_SERVE_REMOVED_ITEMS_H_

// What one Recommend drops from its answer; an implementation detail of
// ServingModel (serving_model.h).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/types/span.h"

namespace recserve {

// The user's training items and the request's exclusions, as bits in a
// per-thread bitmap over the catalog: set on construction, cleared on
// destruction, so a request costs O(removed) and no allocation once the
// thread's bitmap has grown to the catalog. The scan asks about every row it
// keeps, which made binary searches over the seen items a visible share of
// Recommend's profile.
// One live object per thread (a second one, which nothing creates today,
// falls back to binary searches).
class RemovedItems {
 public:
  RemovedItems(int32_t num_items, absl::Span<const int32_t> seen,
               std::vector<int32_t> excluded)
      : seen_(seen), excluded_(std::move(excluded)) {
    std::sort(excluded_.begin(), excluded_.end());
    excluded_.erase(std::unique(excluded_.begin(), excluded_.end()),
                    excluded_.end());
    Bitmap& bitmap = ThreadBitmap();
    if (bitmap.in_use) return;
    bitmap.in_use = true;
    bits_ = &bitmap.bits;
    const size_t words = (static_cast<size_t>(num_items) + 63) / 64;
    if (bits_->size() < words) bits_->resize(words, 0);
    for (const int32_t i : seen_) Set(i);
    for (const int32_t i : excluded_) Set(i);
  }
  ~RemovedItems() {
    if (bits_ == nullptr) return;
    for (const int32_t i : seen_) (*bits_)[i >> 6] = 0;
    for (const int32_t i : excluded_) (*bits_)[i >> 6] = 0;
    ThreadBitmap().in_use = false;
  }
  RemovedItems(const RemovedItems&) = delete;
  RemovedItems& operator=(const RemovedItems&) = delete;

  bool contains(int32_t item) const {
    if (bits_ != nullptr) return ((*bits_)[item >> 6] >> (item & 63)) & 1;
    return std::binary_search(seen_.begin(), seen_.end(), item) ||
           std::binary_search(excluded_.begin(), excluded_.end(), item);
  }
  // At least the number of distinct items removed.
  size_t size() const { return seen_.size() + excluded_.size(); }

 private:
  struct Bitmap {
    std::vector<uint64_t> bits;
    bool in_use = false;
  };
  static Bitmap& ThreadBitmap() {
    thread_local Bitmap bitmap;
    return bitmap;
  }
  void Set(int32_t item) { (*bits_)[item >> 6] |= uint64_t{1} << (item & 63); }

  absl::Span<const int32_t> seen_;
  std::vector<int32_t> excluded_;
  std::vector<uint64_t>* bits_ = nullptr;  // the thread's, while held
};

}  // namespace recserve

#endif  // RECSERVE_CORE_SERVE_REMOVED_ITEMS_H_
