#ifndef RECSERVE_CORE_BASE_PARALLEL_FOR_H_
#define RECSERVE_CORE_BASE_PARALLEL_FOR_H_

#include <cstdint>
#include <functional>

namespace recserve {

// The number of worker threads to use for a request of `threads`: the value
// itself when positive, else the number of hardware threads (at least 1).
int32_t ResolveThreads(int32_t threads);

// Calls body(begin, end, worker) on `threads` threads over contiguous,
// disjoint ranges covering [0, n), and returns when all have finished. Ranges
// are handed out in fixed-size chunks from a shared counter, so uneven rows
// balance; results are deterministic as long as each index's work does not
// depend on which worker ran it. `body` must be safe to call concurrently.
void ParallelFor(
    int64_t n, int32_t threads,
    const std::function<void(int64_t begin, int64_t end, int32_t worker)>& body,
    int64_t chunk = 64);

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_PARALLEL_FOR_H_
