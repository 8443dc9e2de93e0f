// The item-item retrieval model (EASE): training cost per catalog size, and
// Recommend's latency with it beside the embeddings' exact and default
// retrieval on the same snapshot data, in one process.
//
// Setup per catalog size (the benchmark's argument): 2,000 users whose
// histories are drawn with a popularity skew, 100 items each on average
// (uniform 10..190), timestamps in order; random 32-d retrieval embeddings
// and a random 16-factor rating model. Published twice with PublishSnapshot
// into a temporary folder, with and without the item-item model (λ 300,
// recency weight 10, horizon 10), and loaded with LoadServingModel.
//
// BM_ItemItemCooccurrences and BM_ItemItemSolve: G = XᵀX of those
// histories, and one λ's inversion (two threads); BM_Recommend: Recommend
// (n 10, the pool of 200, blend 0.5) for users in turn, by path
// (0 = item-item, 1 = embeddings exact, 2 = embeddings default).

#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/base/random_stream.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "core/train/item_item_trainer.h"

namespace recserve {
namespace {

constexpr int32_t kUsers = 2000;

}  // namespace

// The folders the catalogs were published into, removed at exit.
std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}

namespace {

struct Catalog {
  std::string dir;
  Dataset data;
  std::shared_ptr<const ServingModel> with_item_item;
  std::shared_ptr<const ServingModel> embeddings_only;
};

Dataset MakeData(int32_t items, uint64_t seed) {
  Dataset d;
  for (int32_t u = 0; u < kUsers; ++u) d.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i) d.items.GetOrAdd(absl::StrCat("i", i));
  RandomStream rng(seed);
  for (int32_t u = 0; u < kUsers; ++u) {
    const int32_t n = 10 + static_cast<int32_t>(rng.Uniform() * 180);
    std::vector<char> seen(items, 0);
    for (int32_t k = 0; k < n; ++k) {
      // Popularity skew: item ~ items · U².
      const double x = rng.Uniform();
      const int32_t item =
          std::min(items - 1, static_cast<int32_t>(items * x * x));
      if (seen[item]) continue;
      seen[item] = 1;
      d.ratings.push_back({u, item, static_cast<float>(1 + (u + k) % 5), k});
    }
  }
  return d;
}

FactorMatrix RandomMatrix(int32_t rows, int32_t cols, RandomStream* rng) {
  FactorMatrix m(rows, cols);
  for (int32_t r = 0; r < rows; ++r)
    for (int32_t c = 0; c < cols; ++c)
      m(r, c) = static_cast<float>(rng->Uniform() - 0.5);
  return m;
}

Catalog& GetCatalog(int32_t items) {
  static auto* catalogs = new std::map<int32_t, Catalog>();
  auto [it, added] = catalogs->try_emplace(items);
  Catalog& c = it->second;
  if (!added) return c;
  char pattern[] = "/tmp/item_item_bench_XXXXXX";
  c.dir = mkdtemp(pattern);
  TempDirs().push_back(c.dir);
  c.data = MakeData(items, 7);
  RandomStream rng(11);
  MfModel model;
  model.global_mean = 3.5f;
  model.user_bias = Eigen::VectorXf::Zero(kUsers);
  model.item_bias = Eigen::VectorXf::Zero(items);
  model.user_factors = RandomMatrix(kUsers, 16, &rng);
  model.item_factors = RandomMatrix(items, 16, &rng);
  model.scale = {1, 5, 1};
  RetrievalModel retrieval;
  retrieval.user_factors = RandomMatrix(kUsers, 32, &rng);
  retrieval.item_factors = RandomMatrix(items, 32, &rng);
  FoldInParams fold_in;
  fold_in.rating = RatingUserPrior::Ridge(16, 0.05f, 0.02f);
  fold_in.retrieval = {.reg = 1.0f, .alpha = 0.3f, .unobserved_weight = 1.0f};
  const ItemItemModel item_item =
      TrainItemItem(c.data,
                    {.reg = 300, .recency_weight = 10, .recency_horizon = 10})
          .value();
  for (const bool with : {true, false}) {
    SnapshotContents contents;
    contents.train = &c.data;
    contents.model = &model;
    contents.algo = "als";
    contents.retrieval = &retrieval;
    contents.ranking = {.candidates = 200, .blend_weight = 0.5f};
    contents.fold_in = &fold_in;
    if (with) contents.item_item = &item_item;
    const std::string root = absl::StrCat(c.dir, with ? "/with" : "/without");
    const std::string version = PublishSnapshot(root, contents).value();
    (with ? c.with_item_item : c.embeddings_only) =
        LoadServingModel(absl::StrCat(root, "/", version), {}).value();
  }
  return c;
}

void BM_ItemItemCooccurrences(benchmark::State& state) {
  const Catalog& c = GetCatalog(static_cast<int32_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(ItemCooccurrences(c.data).value().data());
  }
  state.counters["ratings"] = static_cast<double>(c.data.ratings.size());
}
BENCHMARK(BM_ItemItemCooccurrences)
    ->ArgName("items")
    ->Arg(1682)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_ItemItemSolve(benchmark::State& state) {
  const Catalog& c = GetCatalog(static_cast<int32_t>(state.range(0)));
  const Eigen::MatrixXf gram = ItemCooccurrences(c.data).value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        SolveItemItem(gram, {.reg = 300}, 2).value().weights.data());
  }
}
BENCHMARK(BM_ItemItemSolve)
    ->ArgName("items")
    ->Arg(1682)
    ->Arg(4096)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Recommend(benchmark::State& state) {
  const Catalog& c = GetCatalog(static_cast<int32_t>(state.range(0)));
  const int64_t path = state.range(1);
  const ServingModel& model =
      path == 0 ? *c.with_item_item : *c.embeddings_only;
  RecommendQuery q;
  q.n = 10;
  q.exact = path == 1;
  int32_t user = 0;
  std::string expected = path == 0 ? "item_item" : path == 1 ? "exact" : "";
  for (auto _ : state) {
    q.user_id = model.snapshot().UserId(user);
    user = (user + 1) % kUsers;
    absl::StatusOr<Recommendation> r =
        model.Recommend(q, ServingLimits(), ServingPolicy());
    if (!r.ok() || (!expected.empty() &&
                    expected != RetrievalPathName(r->retrieval_path))) {
      state.SkipWithError("unexpected answer");
      return;
    }
    benchmark::DoNotOptimize(r->items.data());
  }
}
BENCHMARK(BM_Recommend)
    ->ArgNames({"items", "path"})
    ->ArgsProduct({{1682, 4096}, {0, 1, 2}})
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace recserve

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  // The temporary snapshots go with the process.
  for (const std::string& dir : recserve::TempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  return 0;
}
