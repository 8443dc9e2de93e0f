#ifndef RECSERVE_CORE_SYNTHETIC_SYNTHETIC_CATALOG_H_
#define RECSERVE_CORE_SYNTHETIC_SYNTHETIC_CATALOG_H_

// The item side of the synthetic generator's hidden model: popularity, bias,
// taste vector q_i, title and genres of every item. Internal to
// GenerateSyntheticData (core/synthetic/synthetic_generator.h); not for other
// callers.
//
// Each genre is a unit direction in the taste space. An item gets a dominant
// genre, sometimes a second one pulled in at a random strength, Gaussian
// noise, and is normalized: |q_i| = 1. Popularity follows a Zipf law over a
// random permutation of the items (ids do not reveal it); item biases are
// slightly correlated with popularity, and centred so that the popularity-
// weighted mean bias is 0.

#include <cstdint>
#include <string>
#include <vector>

#include "core/synthetic/synthetic_generator.h"

namespace recserve::synthetic {

// Standard deviation of the item biases b_i.
inline constexpr double kItemBiasSd = 0.45;
// Correlation of b_i with standardized log popularity: hits rate a bit
// higher.
inline constexpr double kPopularityBiasCorrelation = 0.15;
// The item of popularity rank r (0 = top) has weight (r + offset)^-exponent,
// offset = kZipfOffset + kZipfOffsetPerItem * items.
inline constexpr double kZipfExponent = 1.5;
inline constexpr double kZipfOffset = 2.0;
inline constexpr double kZipfOffsetPerItem = 0.0007;

struct ItemModel {
  // Sampling weights, fixed point: the most popular item has 2^40; every
  // item has at least 1.
  std::vector<uint64_t> popularity;
  std::vector<double> bias;
  std::vector<double> factors;  // items x latent_factors, row-major.
  // MovieLens-like titles, e.g. "The Space Western Saga #17 (1994)"; items 0
  // and 1 (ids 1 and 2) contain a comma and double quotes.
  std::vector<std::string> titles;
  std::vector<std::string> genres;  // MovieLens "A|B" form.
};

// The catalog of options.items items (index = item id - 1), derived from
// options.seed, options.items, options.latent_factors and options.genres
// only. Expects options that GenerateSyntheticData accepts (no checks).
// Deterministic; thread-safe.
ItemModel BuildItems(const GeneratorOptions& options);

// The name of genre k >= 0, e.g. "Space Western"; distinct for every k.
std::string GenreName(int32_t k);

}  // namespace recserve::synthetic

#endif  // RECSERVE_CORE_SYNTHETIC_SYNTHETIC_CATALOG_H_
