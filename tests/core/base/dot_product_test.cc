#include "core/base/dot_product.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/base/random_stream.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

std::vector<float> RandomFloats(size_t n, uint64_t seed) {
  RandomStream rng(seed);
  std::vector<float> v(n);
  // Mixed magnitudes, so that a different summation order shows in the bits.
  for (float& x : v) {
    x = static_cast<float>(rng.Normal() * std::exp(3.0 * rng.Normal()));
  }
  return v;
}

uint32_t Bits(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

// The summation order the header promises, one product at a time (fused
// where the build targets FMA, as Dot's lanes then are).
float ReferenceDot(const float* a, const float* b, int32_t n) {
  float lane[8] = {};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
#if defined(__FMA__)
      lane[j] = std::fma(a[i + j], b[i + j], lane[j]);
#else
      lane[j] = lane[j] + a[i + j] * b[i + j];
#endif
    }
  }
  float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
            ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; i < n; ++i) {
#if defined(__FMA__)
    s = std::fma(a[i], b[i], s);
#else
    s = s + a[i] * b[i];
#endif
  }
  return s;
}

TEST(DotProductTest, SumsInTheDocumentedOrder) {
  for (int32_t n = 0; n <= 70; ++n) {
    const std::vector<float> a = RandomFloats(n, 1 + n);
    const std::vector<float> b = RandomFloats(n, 100 + n);
    EXPECT_EQ(Bits(Dot(a.data(), b.data(), n)),
              Bits(ReferenceDot(a.data(), b.data(), n)))
        << "n " << n;
  }
}

TEST(DotProductTest, EightRowsAtOnceMatchOneAtATimeBitForBit) {
  for (int32_t n : {1, 7, 8, 13, 16, 32, 33, 64, 100}) {
    for (int64_t stride : {int64_t{n}, int64_t{n} + 3}) {
      const std::vector<float> q = RandomFloats(n, 7 + n);
      const std::vector<float> rows = RandomFloats(8 * stride, 300 + n);
      float out[8];
      Dot8(q.data(), rows.data(), stride, n, out);
      for (int r = 0; r < 8; ++r) {
        EXPECT_EQ(Bits(out[r]),
                  Bits(Dot(q.data(), rows.data() + r * stride, n)))
            << "n " << n << " stride " << stride << " row " << r;
      }
    }
  }
}

TEST(DotProductTest, ComputesTheDotProduct) {
  const float a[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const float b[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, -1};
  EXPECT_EQ(Dot(a, b, 10), 35.0f);
  EXPECT_EQ(Dot(a, b, 0), 0.0f);
}

}  // namespace
}  // namespace recserve
