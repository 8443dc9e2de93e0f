#ifndef RECSERVE_CORE_MODEL_PREFETCH_H_
#define RECSERVE_CORE_MODEL_PREFETCH_H_

// Software prefetch for the row solvers' gathers: they read the other
// side's factor rows in rating order, which is random to the hardware
// prefetcher, so they ask for row j + kGatherAhead while copying row j.

#include <Eigen/Core>
#include <cstdint>

namespace recserve {

inline constexpr int64_t kGatherAhead = 8;

// Hints that the `k` floats at `row` will be read soon. No effect on results.
inline void PrefetchRow(const float* row, Eigen::Index k) {
  const char* bytes = reinterpret_cast<const char*>(row);
  for (Eigen::Index offset = 0; offset < k * Eigen::Index{sizeof(float)};
       offset += 64) {
    __builtin_prefetch(bytes + offset);
  }
}

}  // namespace recserve

#endif  // RECSERVE_CORE_MODEL_PREFETCH_H_
