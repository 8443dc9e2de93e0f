#ifndef RECSERVE_CORE_SYNTHETIC_SYNTHETIC_EXPOSURE_H_
#define RECSERVE_CORE_SYNTHETIC_SYNTHETIC_EXPOSURE_H_

// The exposure step of the synthetic generator: which items a user rates.
// Internal to GenerateSyntheticData (core/synthetic/synthetic_generator.h); not
// for other callers.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/synthetic/synthetic_rng.h"

namespace recserve::synthetic {

// Successive sampling without replacement in proportion to item popularity
// times a per-user acceptance in (0, 1] (the generator passes one that grows
// with the user's taste for the item, so ratings are missing not at random,
// as in real data).
//
// Thread-safety: not thread-safe; use one sampler per worker thread (several
// samplers may share the same weights).
class ExposureSampler final {
 public:
  // `weights[i]` > 0 is the popularity of item i (ItemModel::popularity);
  // their sum must be below 2^64. Borrowed: `weights` must outlive the
  // sampler and not change.
  explicit ExposureSampler(const std::vector<uint64_t>& weights);
  ~ExposureSampler();
  ExposureSampler(ExposureSampler&&) noexcept;
  ExposureSampler& operator=(ExposureSampler&&) noexcept;

  // Replaces *items with `count` distinct item indices in the order drawn:
  // each draw picks an item not drawn yet with probability proportional to
  // its weight times acceptance(item) (by rejection: a popularity draw is
  // kept with probability acceptance(item)), which must be in (0, 1]. The
  // result depends only on the weights, `count` and the draws taken from `rng`,
  // not on earlier calls, so users may be sampled in any order on any thread.
  // Requires 0 <= count <= weights.size(), user >= 0, and a different `user` on
  // every call to the same sampler (it marks the items taken by `user`).
  void SampleRatedItems(int32_t user, int32_t count, Rng& rng,
                        const std::function<double(int32_t item)>& acceptance,
                        std::vector<int32_t>* items);

 private:
  class Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace recserve::synthetic

#endif  // RECSERVE_CORE_SYNTHETIC_SYNTHETIC_EXPOSURE_H_
