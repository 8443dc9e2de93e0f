#ifndef RECSERVE_CORE_BASE_STOPWATCH_H_
#define RECSERVE_CORE_BASE_STOPWATCH_H_

#include <chrono>

namespace recserve {

// Seconds elapsed since `start` on the steady clock.
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_STOPWATCH_H_
