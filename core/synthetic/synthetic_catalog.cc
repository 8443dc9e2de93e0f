#include "core/synthetic/synthetic_catalog.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/synthetic/synthetic_rng.h"

namespace recserve::synthetic {
namespace {

constexpr double kSecondGenreProbability = 0.4;
constexpr double kGenreNoiseSd = 0.2;
constexpr double kStrongSecondGenre =
    0.5;  // Second genre listed if its pull >= this.
// The popularity (sampling weight) of the most popular item: fixed point.
constexpr double kWeightOne = 0x1.0p40;

// Title = prefix + genre + middle + number + suffix + " (year)". Template 0
// has a comma and template 1 double quotes; items 1 and 2 use them.
struct TitleTemplate {
  const char* prefix;
  const char* middle;
  const char* suffix;
};
constexpr std::array<TitleTemplate, 7> kTitleTemplates = {{
    {"", " Story #", ", A"},
    {"Operation \"", "\" #", ""},
    {"The ", " Saga #", ""},
    {"Return of the ", " #", ""},
    {"", " Nights #", ""},
    {"Last ", " #", ", The"},
    {"", " #", ": The Reckoning"},
}};

std::string MakeTitle(int32_t item, const std::string& genre, int32_t serial,
                      Rng& rng) {
  const int year = std::max(
      1915, 2023 - static_cast<int>(std::floor(22.0 * rng.Exponential())));
  const TitleTemplate& t =
      kTitleTemplates[item < 2 ? static_cast<uint32_t>(item)
                               : rng.Below(kTitleTemplates.size())];
  return absl::StrCat(t.prefix, genre, t.middle, serial, t.suffix, " (", year,
                      ")");
}

// Unit directions of the genres in the k-dimensional taste space: evenly
// spaced on the circle when k = 2 (the most separated layout), otherwise
// random directions drawn from the seed.
std::vector<double> GenreDirections(int32_t genres, int32_t k, uint64_t seed) {
  std::vector<double> dirs(static_cast<size_t>(genres) * k, 0.0);
  for (int32_t g = 0; g < genres; ++g) {
    double* c = &dirs[static_cast<size_t>(g) * k];
    if (k == 1) {
      c[0] = g % 2 == 0 ? 1.0 : -1.0;
      continue;
    }
    if (k == 2) {
      c[0] = std::cos(2.0 * M_PI * g / genres);
      c[1] = std::sin(2.0 * M_PI * g / genres);
      continue;
    }
    Rng rng(seed, kGenreStream, g);
    double norm = 0.0;
    for (int32_t d = 0; d < k; ++d) {
      c[d] = rng.Normal();
      norm += c[d] * c[d];
    }
    norm = std::sqrt(norm);
    for (int32_t d = 0; d < k; ++d) c[d] /= norm;
  }
  return dirs;
}

}  // namespace

std::string GenreName(int32_t k) {
  static constexpr std::array<const char*, 24> kNames = {
      "Space Western",     "Noir Comedy",     "Cozy Mystery",
      "Cyberpunk Romance", "Heist Thriller",  "Musical Horror",
      "Period Drama",      "Kaiju Action",    "Road Movie",
      "Courtroom Drama",   "Spy Farce",       "Fairy-Tale Fantasy",
      "Disaster Epic",     "Sports Underdog", "Time-Travel Caper",
      "Gothic Romance",    "Martial Arts",    "Pirate Adventure",
      "Mockumentary",      "Zombie Comedy",   "Political Satire",
      "Samurai Epic",      "Haunted House",   "Coming-of-Age"};
  const int32_t n = static_cast<int32_t>(kNames.size());
  return k < n ? kNames[k] : absl::StrCat(kNames[k % n], " ", k / n + 1);
}

ItemModel BuildItems(const GeneratorOptions& options) {
  const int32_t n = options.items, k = options.latent_factors;
  const int32_t genres = options.genres;
  const std::vector<double> directions =
      GenreDirections(genres, k, options.seed);
  ItemModel m;
  // Popularity ranks are a random permutation, so item ids do not reveal it.
  std::vector<int32_t> rank(n);
  for (int32_t i = 0; i < n; ++i) rank[i] = i;
  Rng perm(options.seed, kPopularityStream, 0);
  for (int32_t i = n - 1; i > 0; --i)
    std::swap(rank[i], rank[perm.Below(i + 1)]);
  const double offset = kZipfOffset + kZipfOffsetPerItem * n;
  std::vector<double> log_pop(n);
  double mean = 0.0, sq = 0.0;
  for (int32_t i = 0; i < n; ++i) {
    log_pop[i] = -kZipfExponent * std::log(rank[i] + offset);
    mean += log_pop[i] / n;
  }
  for (double x : log_pop) sq += (x - mean) * (x - mean) / n;
  const double log_pop_max = -kZipfExponent * std::log(offset);
  const double log_pop_sd = sq > 0 ? std::sqrt(sq) : 1.0;

  m.popularity.resize(n);
  m.bias.resize(n);
  m.factors.assign(static_cast<size_t>(n) * k, 0.0);
  m.titles.resize(n);
  m.genres.resize(n);
  std::vector<int32_t> serial(genres, 0);
  const double rho = kPopularityBiasCorrelation;
  for (int32_t i = 0; i < n; ++i) {
    Rng rng(options.seed, kItemStream, i);
    m.popularity[i] = std::max<uint64_t>(
        1, std::llround(std::exp(log_pop[i] - log_pop_max) * kWeightOne));
    const double z_pop = (log_pop[i] - mean) / log_pop_sd;
    m.bias[i] =
        kItemBiasSd * (rho * z_pop + std::sqrt(1 - rho * rho) * rng.Normal());
    double* q = &m.factors[static_cast<size_t>(i) * k];
    for (int32_t d = 0; d < k; ++d) q[d] = kGenreNoiseSd * rng.Normal();
    const int32_t g1 = static_cast<int32_t>(rng.Below(genres));
    const double* c1 = &directions[static_cast<size_t>(g1) * k];
    for (int32_t d = 0; d < k; ++d) q[d] += c1[d];
    int32_t g2 = -1;
    if (genres > 1 && rng.Uniform() < kSecondGenreProbability) {
      g2 = (g1 + 1 + static_cast<int32_t>(rng.Below(genres - 1))) % genres;
      const double pull = 0.3 + 0.5 * rng.Uniform();
      const double* c2 = &directions[static_cast<size_t>(g2) * k];
      for (int32_t d = 0; d < k; ++d) q[d] += pull * c2[d];
      if (pull < kStrongSecondGenre) g2 = -1;  // too weak to be listed
    }
    double norm = 0.0;
    for (int32_t d = 0; d < k; ++d) norm += q[d] * q[d];
    norm = std::sqrt(norm);
    for (int32_t d = 0; d < k; ++d) q[d] /= norm;

    m.genres[i] = g2 < 0 ? GenreName(g1)
                         : absl::StrCat(GenreName(g1), "|", GenreName(g2));
    m.titles[i] = MakeTitle(i, GenreName(g1), ++serial[g1], rng);
  }
  // Center the biases on the ratings they will get (~ popularity), so that
  // μ stays the mean rating however skewed the popularity is.
  double weight_sum = 0.0, bias_sum = 0.0;
  for (int32_t i = 0; i < n; ++i) {
    weight_sum += static_cast<double>(m.popularity[i]);
    bias_sum += static_cast<double>(m.popularity[i]) * m.bias[i];
  }
  for (double& b : m.bias) b -= bias_sum / weight_sum;
  return m;
}

}  // namespace recserve::synthetic
