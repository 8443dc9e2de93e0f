#ifndef RECSERVE_CORE_DOT_PRODUCT_H_
#define RECSERVE_CORE_DOT_PRODUCT_H_

#include <cstdint>

namespace recserve {

// a·b over n floats, summed in a fixed order (8 lanes) whatever the
// alignment, so that every retrieval path (HNSW search, exact scans) gives
// the same item the same score, bit for bit, and ties break the same way.
inline float Dot(const float* a, const float* b, int32_t n) {
  float lane[8] = {};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) lane[j] += a[i + j] * b[i + j];
  }
  float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
            ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace recserve

#endif  // RECSERVE_CORE_DOT_PRODUCT_H_
