// ItemIndex on generated items (Gaussian directions, lognormal norms, as
// trained factors are heavy-tailed) in the inner-product space: build time,
// Save and Load time, and search latency for k 10 and 200 at ef 50..400 with
// recall@10 against ExactNeighbors as a counter. The size comes from the
// environment: RECSERVE_BENCH_INDEX_ITEMS (default 100000) and
// RECSERVE_BENCH_INDEX_DIMS (default 32); build threads from
// RECSERVE_BENCH_INDEX_THREADS (default 0 = all cores).

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/base/parallel_for.h"
#include "core/index/item_index.h"

namespace recserve {
namespace {

constexpr int32_t kQueries = 500;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoll(value) : fallback;
}

struct Data {
  FactorMatrix items;
  std::vector<std::vector<float>> queries;
  std::vector<std::set<int32_t>> truth;  // exact top 10 per query
  ItemIndexOptions options;
};

const Data& GetData() {
  static const Data* data = [] {
    auto* d = new Data;
    const auto n =
        static_cast<int32_t>(EnvInt("RECSERVE_BENCH_INDEX_ITEMS", 100000));
    const auto dims =
        static_cast<int32_t>(EnvInt("RECSERVE_BENCH_INDEX_DIMS", 32));
    d->options.threads =
        static_cast<int32_t>(EnvInt("RECSERVE_BENCH_INDEX_THREADS", 0));
    std::mt19937_64 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::lognormal_distribution<float> norm(0.0f, 0.75f);
    d->items.resize(n, dims);
    for (int32_t r = 0; r < n; ++r) {
      for (int32_t c = 0; c < dims; ++c) d->items(r, c) = normal(rng);
      d->items.row(r) *= norm(rng) / d->items.row(r).norm();
    }
    d->queries.assign(kQueries, std::vector<float>(dims));
    for (auto& q : d->queries) {
      for (float& v : q) v = normal(rng);
    }
    d->truth.resize(kQueries);
    ParallelFor(
        kQueries, 0,
        [d](int64_t begin, int64_t end, int32_t) {
          for (int64_t i = begin; i < end; ++i) {
            for (const ScoredItem& nb : ExactNeighbors(
                     d->items, IndexSpace::kInnerProduct, d->queries[i], 10)) {
              d->truth[i].insert(nb.item);
            }
          }
        },
        1);
    return d;
  }();
  return *data;
}

// The index BM_Build made last, else built on first use.
std::unique_ptr<ItemIndex>& Index() {
  static std::unique_ptr<ItemIndex> index;
  return index;
}

const ItemIndex& GetIndex() {
  if (Index() == nullptr) {
    const Data& d = GetData();
    Index() =
        ItemIndex::Build(d.items, IndexSpace::kInnerProduct, d.options).value();
  }
  return *Index();
}

void BM_Build(benchmark::State& state) {
  const Data& d = GetData();
  for (auto _ : state) {
    auto built =
        ItemIndex::Build(d.items, IndexSpace::kInnerProduct, d.options);
    if (!built.ok()) {
      state.SkipWithError(std::string(built.status().message()).c_str());
      return;
    }
    Index() = std::move(built).value();
  }
  state.counters["items"] = static_cast<double>(d.items.rows());
  state.counters["items/s"] = benchmark::Counter(
      static_cast<double>(d.items.rows()) * state.iterations(),
      benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Build)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

std::string TempPath() {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/item_index_bench.XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return "";
  return dir + "/index.hnsw";
}

void BM_SaveLoad(benchmark::State& state) {
  const Data& d = GetData();
  const ItemIndex& index = GetIndex();
  const std::string path = TempPath();
  if (path.empty()) {
    state.SkipWithError("cannot create a temporary folder");
    return;
  }
  for (auto _ : state) {
    absl::Status saved = index.Save(path);
    auto loaded = ItemIndex::Load(path, d.items, IndexSpace::kInnerProduct);
    if (!saved.ok() || !loaded.ok()) {
      state.SkipWithError("save or load failed");
      break;
    }
  }
  std::remove(path.c_str());
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}
BENCHMARK(BM_SaveLoad)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Args: ef, k.
void BM_Search(benchmark::State& state) {
  const Data& d = GetData();
  const ItemIndex& index = GetIndex();
  const auto ef = static_cast<int32_t>(state.range(0));
  const auto k = static_cast<int32_t>(state.range(1));
  size_t next = 0;
  for (auto _ : state) {
    auto found = index.Search(d.queries[next], k, ef);
    benchmark::DoNotOptimize(found);
    next = (next + 1) % d.queries.size();
  }
  int64_t hits = 0;
  for (size_t i = 0; i < d.queries.size(); ++i) {
    const auto found = index.Search(d.queries[i], k, ef).value();
    for (size_t j = 0; j < found.size() && j < 10; ++j) {
      hits += d.truth[i].count(found[j].item);
    }
  }
  state.counters["recall@10"] =
      static_cast<double>(hits) / (10.0 * d.queries.size());
}
BENCHMARK(BM_Search)
    ->ArgNames({"ef", "k"})
    ->ArgsProduct({{50, 100, 200, 400}, {10, 200}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace recserve

BENCHMARK_MAIN();
