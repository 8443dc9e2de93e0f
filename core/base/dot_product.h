#ifndef RECSERVE_CORE_BASE_DOT_PRODUCT_H_
#define RECSERVE_CORE_BASE_DOT_PRODUCT_H_

// Dot products with one fixed summation order, so that every retrieval path
// (HNSW search, exact scans, the norm-ordered scan) gives the same item the
// same score, bit for bit, and ties break the same way. The order: eight
// lanes (lane j sums a[i] b[i] for i ≡ j mod 8 over the first n − n mod 8
// values, with fused multiply-adds when the build targets FMA), reduced as
// ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), then the last n mod 8
// products added one by one.

#include <cstdint>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include <cmath>
#define RECSERVE_DOT_AVX2 1
#endif

namespace recserve {

namespace dot_product_internal {

#if RECSERVE_DOT_AVX2
// Row r's lanes as [l0+l4, l1+l5, l2+l6, l3+l7] beside row s's.
inline __m256 FoldHalves(__m256 r, __m256 s) {
  return _mm256_add_ps(_mm256_permute2f128_ps(r, s, 0x20),
                       _mm256_permute2f128_ps(r, s, 0x31));
}
inline float Tail(const float* a, const float* b, int32_t i, int32_t n,
                  float s) {
  for (; i < n; ++i) s = std::fma(a[i], b[i], s);
  return s;
}
#endif

}  // namespace dot_product_internal

// a·b over n floats, in the order above whatever the alignment.
inline float Dot(const float* a, const float* b, int32_t n) {
  int32_t i = 0;
#if RECSERVE_DOT_AVX2
  __m256 lanes = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    lanes =
        _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), lanes);
  }
  __m128 m = _mm_add_ps(_mm256_castps256_ps128(lanes),
                        _mm256_extractf128_ps(lanes, 1));
  m = _mm_hadd_ps(m, m);  // [m0 + m1, m2 + m3, ...]
  m = _mm_hadd_ps(m, m);
  return dot_product_internal::Tail(a, b, i, n, _mm_cvtss_f32(m));
#else
  float lane[8] = {};
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) lane[j] += a[i + j] * b[i + j];
  }
  float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
            ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
#endif
}

// out[r] = Dot(a, rows + r * stride, n) for r in 0..7, bit for bit. Eight
// independent sums keep the vector units busy where one Dot waits on its own
// additions: the norm-ordered scan calls this.
inline void Dot8(const float* a, const float* rows, int64_t stride, int32_t n,
                 float* out) {
#if RECSERVE_DOT_AVX2
  using dot_product_internal::FoldHalves;
  __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0,
         l6 = l0, l7 = l0;
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 q = _mm256_loadu_ps(a + i);
    const float* r = rows + i;
    l0 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r), l0);
    l1 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + stride), l1);
    l2 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 2 * stride), l2);
    l3 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 3 * stride), l3);
    l4 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 4 * stride), l4);
    l5 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 5 * stride), l5);
    l6 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 6 * stride), l6);
    l7 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r + 7 * stride), l7);
  }
  // Per 128-bit half, hadd pairs (m0 + m1, m2 + m3) within each row, then
  // those two sums: the same tree as Dot's, for rows 0 2 4 6 | 1 3 5 7.
  const __m256 sums =
      _mm256_hadd_ps(_mm256_hadd_ps(FoldHalves(l0, l1), FoldHalves(l2, l3)),
                     _mm256_hadd_ps(FoldHalves(l4, l5), FoldHalves(l6, l7)));
  _mm256_storeu_ps(out, _mm256_permutevar8x32_ps(
                            sums, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  if (i < n) {
    for (int r = 0; r < 8; ++r) {
      out[r] = dot_product_internal::Tail(a, rows + r * stride, i, n, out[r]);
    }
  }
#else
  for (int r = 0; r < 8; ++r) out[r] = Dot(a, rows + r * stride, n);
#endif
}

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_DOT_PRODUCT_H_
