#ifndef RECSERVE_TESTS_CORE_SNAPSHOT_COLD_SNAPSHOT_FIXTURE_H_
#define RECSERVE_TESTS_CORE_SNAPSHOT_COLD_SNAPSHOT_FIXTURE_H_

// A small format-5 snapshot for tests of cold items and add-items, published
// straight from SnapshotContents: warm items "1".."W" with ratings, cold
// items "W+1".."W+C" without, metadata (genres, titles with a year) for
// every item, an attribute spec built from the warm items and hand-made
// random maps; the cold items' rows are those maps applied to them.
// Header-only so that tests in several folders can share it.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/data/item_attributes.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"
#include "core/model/attribute_map.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"
#include "core/model/user_fold_in.h"
#include "core/snapshot/snapshot_writer.h"

namespace recserve {
namespace testutil {

struct ColdSnapshotFixture {
  Dataset train;
  MfModel model;
  RetrievalModel retrieval;
  FoldInParams fold_in;
  ItemCatalog catalog;
  ItemAttributeModel attributes;
  int32_t cold_items = 0;
};

inline const std::vector<std::string>& FixtureGenres() {
  static const auto* genres = new std::vector<std::string>{
      "Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"};
  return *genres;
}

// Metadata of item number `n` (its id is absl::StrCat(n)): two genres, a
// title with a word shared by a third of the items and a year.
inline ItemMetadata FixtureItem(int32_t n) {
  const std::vector<std::string>& genres = FixtureGenres();
  ItemMetadata m;
  m.genres = {genres[n % genres.size()], genres[(n / 2 + 1) % genres.size()]};
  static const char* const kWords[] = {"love", "war", "night"};
  m.year = 1980 + (n * 7) % 30;
  m.title = absl::StrCat("The ", kWords[n % 3], " film ", n, " (", m.year, ")");
  return m;
}

// The map rows of `id` under `attributes` (rating: factors then bias).
inline std::vector<float> MappedRow(const ItemAttributeModel& attributes,
                                    const AttributeMap& map,
                                    const std::string& id,
                                    const ItemCatalog& catalog) {
  ItemAttributeSources sources;
  sources.items = &catalog;
  std::vector<float> out(map.width());
  map.Apply(Featurize(attributes.spec, id, sources), absl::MakeSpan(out));
  return out;
}

inline ColdSnapshotFixture MakeColdFixture(int32_t users, int32_t warm,
                                           int32_t cold, int32_t factors,
                                           int32_t retrieval_factors,
                                           uint64_t seed = 1) {
  ColdSnapshotFixture f;
  f.cold_items = cold;
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  for (int32_t u = 0; u < users; ++u)
    f.train.users.GetOrAdd(absl::StrCat("u", u));
  const int32_t items = warm + cold;
  std::vector<std::string> warm_ids;
  for (int32_t i = 0; i < items; ++i) {
    const std::string id = absl::StrCat(i + 1);
    f.train.items.GetOrAdd(id);
    f.catalog[id] = FixtureItem(i + 1);
    if (i < warm) warm_ids.push_back(id);
  }
  for (int32_t u = 0; u < users; ++u) {
    for (int32_t j = 0; j < 4; ++j) {
      f.train.ratings.push_back({u, (u * 5 + j * 3) % warm,
                                 static_cast<float>(1 + (u + j) % 5),
                                 int64_t{u} * 100 + j});
    }
  }
  ItemAttributeSources sources;
  sources.items = &f.catalog;
  ItemAttributeOptions options;
  options.min_items = 1;
  f.attributes.spec = BuildAttributeSpec(warm_ids, sources, options);
  const int32_t d = f.attributes.spec.size();
  auto random_matrix = [&](int64_t rows, int64_t cols) {
    FactorMatrix m(rows, cols);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) m(r, c) = uniform(rng);
    }
    return m;
  };
  f.attributes.rating.emplace();
  f.attributes.rating->weights = random_matrix(d + 1, factors + 1);
  f.attributes.rating->reg = 3.0f;
  f.attributes.retrieval.weights = random_matrix(d + 1, retrieval_factors);
  f.attributes.retrieval.reg = 10.0f;

  f.model.global_mean = 3.5f;
  f.model.scale = RatingScale{1.0f, 5.0f, 1.0f};
  f.model.user_factors = random_matrix(users, factors);
  f.model.user_bias = random_matrix(users, 1).col(0);
  f.model.item_factors = random_matrix(items, factors);
  f.model.item_bias = random_matrix(items, 1).col(0);
  f.retrieval.user_factors = random_matrix(users, retrieval_factors);
  f.retrieval.item_factors = random_matrix(items, retrieval_factors);
  for (int32_t i = warm; i < items; ++i) {
    const std::string& id = f.train.items.Id(i);
    const std::vector<float> rating =
        MappedRow(f.attributes, *f.attributes.rating, id, f.catalog);
    for (int32_t c = 0; c < factors; ++c)
      f.model.item_factors(i, c) = rating[c];
    f.model.item_bias[i] = rating[factors];
    const std::vector<float> embedding =
        MappedRow(f.attributes, f.attributes.retrieval, id, f.catalog);
    for (int32_t c = 0; c < retrieval_factors; ++c) {
      f.retrieval.item_factors(i, c) = embedding[c];
    }
  }
  f.fold_in.rating.mean = Eigen::VectorXf::Zero(factors + 1);
  f.fold_in.rating.precision = Eigen::VectorXf::Constant(factors + 1, 2.0f);
  f.fold_in.rating.scales_with_count = false;
  f.fold_in.retrieval = {.reg = 1.0f, .alpha = 1.0f, .unobserved_weight = 0.5f};
  return f;
}

inline SnapshotContents ContentsOf(const ColdSnapshotFixture& f) {
  SnapshotContents c;
  c.train = &f.train;
  c.model = &f.model;
  c.items = &f.catalog;
  c.algo = "als";
  c.retrieval = &f.retrieval;
  c.ranking = TwoStageOptions{.candidates = 20, .blend_weight = 0.5f};
  c.fold_in = &f.fold_in;
  c.cold_items = f.cold_items;
  c.attributes = &f.attributes;
  return c;
}

// A MovieLens movies.csv of items number `first`..`last` (FixtureItem).
inline std::string MoviesCsv(int32_t first, int32_t last) {
  std::string out = "movieId,title,genres\n";
  for (int32_t n = first; n <= last; ++n) {
    const ItemMetadata m = FixtureItem(n);
    absl::StrAppend(&out, n, ",", m.title, ",", absl::StrJoin(m.genres, "|"),
                    "\n");
  }
  return out;
}

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_CORE_SNAPSHOT_COLD_SNAPSHOT_FIXTURE_H_
