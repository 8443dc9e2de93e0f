#include "core/base/parallel_for.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace recserve {

int32_t ResolveThreads(int32_t threads) {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

void ParallelFor(int64_t n, int32_t threads,
                 const std::function<void(int64_t, int64_t, int32_t)>& body,
                 int64_t chunk) {
  if (n <= 0) return;
  chunk = std::max<int64_t>(1, chunk);
  const int32_t workers = static_cast<int32_t>(
      std::min<int64_t>(ResolveThreads(threads), (n + chunk - 1) / chunk));
  std::atomic<int64_t> next{0};
  auto run = [&](int32_t worker) {
    for (;;) {
      const int64_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
      if (begin >= n) return;
      body(begin, std::min(n, begin + chunk), worker);
    }
  };
  if (workers == 1) {
    run(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int32_t w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (std::thread& t : pool) t.join();
}

}  // namespace recserve
