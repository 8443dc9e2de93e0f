#include "tests/testutil/cold_snapshot.h"

#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/data/item_attributes.h"
#include "gtest/gtest.h"

namespace recserve::testutil {
namespace {

// Genre g's direction: 1 at coordinate 2g, 0.5 at 2g + 1.
Eigen::RowVectorXf Direction(int32_t genre, int32_t width) {
  Eigen::RowVectorXf d = Eigen::RowVectorXf::Zero(width);
  d[2 * genre] = 1.0f;
  d[2 * genre + 1] = 0.5f;
  return d;
}

}  // namespace

SnapshotContents ColdServingFixture::Contents() const {
  SnapshotContents c;
  c.feedback = spec.implicit ? Feedback::kImplicit : Feedback::kExplicit;
  c.train = &train;
  c.model = model ? &*model : nullptr;
  c.items = &catalog;
  c.algo = "als";
  c.retrieval = &retrieval;
  c.ranking = TwoStageOptions{.candidates = 20, .blend_weight = 0.5f};
  c.fold_in = &fold_in;
  c.cold_items = spec.cold_items;
  c.attributes = &attributes;
  return c;
}

ColdServingFixture MakeColdServingFixture(const ColdServingSpec& spec) {
  ColdServingFixture f;
  f.spec = spec;
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<float> uniform(-0.5f, 0.5f);
  const auto random_matrix = [&](int64_t rows, int64_t cols) {
    FactorMatrix m(rows, cols);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) m(r, c) = uniform(rng);
    }
    return m;
  };
  const int32_t items = f.num_items();
  const int32_t k = spec.retrieval_factors;
  for (int32_t u = 0; u < spec.users; ++u) {
    f.train.users.GetOrAdd(absl::StrCat("u", u));
  }
  std::vector<std::string> warm_ids;
  for (int32_t i = 0; i < items; ++i) {
    const std::string id =
        i < spec.warm_items ? absl::StrCat("i", i) : absl::StrCat("c", i);
    f.train.items.GetOrAdd(id);
    ItemMetadata m;
    m.title = absl::StrCat("Item ", i);
    m.genres = {kColdGenres[ColdServingFixture::GenreOf(i)]};
    f.catalog[id] = m;
    if (i < spec.warm_items) warm_ids.push_back(id);
  }
  for (int32_t u = 0; u + 1 < spec.users; ++u) {
    for (int32_t j = 0; j < 4; ++j) {
      const float value = spec.implicit ? static_cast<float>(1 + j)
                                        : static_cast<float>(1 + (u + j) % 5);
      f.train.ratings.push_back(
          {u, (u * 5 + j * 3) % spec.warm_items, value, int64_t{u} * 100 + j});
    }
  }

  ItemAttributeSources sources;
  sources.items = &f.catalog;
  f.attributes.spec =
      BuildAttributeSpec(warm_ids, sources, ItemAttributeOptions{});
  const int32_t d = f.attributes.spec.size();
  f.attributes.retrieval.weights = FactorMatrix::Zero(d + 1, k);
  f.attributes.retrieval.reg = 1.0f;
  for (int32_t g = 0; g < 3; ++g) {
    const int32_t row =
        f.attributes.spec.Find(absl::StrCat("genre:", kColdGenres[g]));
    EXPECT_GE(row, 0) << "no attribute for genre " << kColdGenres[g];
    if (row >= 0) f.attributes.retrieval.weights.row(row) = Direction(g, k);
  }

  f.retrieval.user_factors = FactorMatrix(spec.users, k);
  for (int32_t u = 0; u < spec.users; ++u) {
    f.retrieval.user_factors.row(u) =
        Direction(u % 3, k) + 0.3f * random_matrix(1, k);
  }
  f.retrieval.item_factors = FactorMatrix(items, k);
  for (int32_t i = 0; i < items; ++i) {
    const Eigen::RowVectorXf direction =
        Direction(ColdServingFixture::GenreOf(i), k);
    f.retrieval.item_factors.row(i) =
        (1.0f + (uniform(rng) + 0.5f) * 0.5f) * direction +
        0.1f * random_matrix(1, k);
  }

  if (!spec.implicit) {
    f.attributes.rating.emplace();
    f.attributes.rating->weights = random_matrix(d + 1, spec.factors + 1);
    f.attributes.rating->reg = 1.0f;
    MfModel& m = f.model.emplace();
    m.global_mean = 3.5f;
    m.scale = RatingScale{1.0f, 5.0f, 1.0f};
    m.user_factors = random_matrix(spec.users, spec.factors);
    m.user_bias = random_matrix(spec.users, 1).col(0);
    m.item_factors = random_matrix(items, spec.factors);
    m.item_bias = random_matrix(items, 1).col(0);
    f.fold_in.rating.mean = Eigen::VectorXf::Zero(spec.factors + 1);
    f.fold_in.rating.precision =
        Eigen::VectorXf::Constant(spec.factors + 1, 2.0f);
    f.fold_in.rating.scales_with_count = false;
  }
  f.fold_in.retrieval = {.reg = 1.0f, .alpha = 1.0f, .unobserved_weight = 0.5f};

  // Cold rows: the maps applied to the cold items' attributes.
  for (int32_t i = f.first_cold(); i < items; ++i) {
    const AttributeRow row =
        Featurize(f.attributes.spec, f.train.items.Id(i), sources);
    std::vector<float> out(k);
    f.attributes.retrieval.Apply(row, absl::MakeSpan(out));
    for (int32_t c = 0; c < k; ++c) f.retrieval.item_factors(i, c) = out[c];
    if (f.model) {
      std::vector<float> rating(spec.factors + 1);
      f.attributes.rating->Apply(row, absl::MakeSpan(rating));
      for (int32_t c = 0; c < spec.factors; ++c) {
        f.model->item_factors(i, c) = rating[c];
      }
      f.model->item_bias[i] = rating[spec.factors];
    }
  }
  return f;
}

std::string PublishColdServingSnapshot(const std::string& root,
                                       const ColdServingFixture& fixture) {
  absl::StatusOr<std::string> version =
      PublishSnapshot(root, fixture.Contents());
  EXPECT_TRUE(version.ok()) << version.status();
  return version.ok() ? *version : "";
}

}  // namespace recserve::testutil
