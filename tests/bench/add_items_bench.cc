// add-items (core/pipeline/add_items.h) into a large generated snapshot:
// the seconds of the whole AddItems call (load the latest version, read the
// metadata, place the items, write and link the files, check that the new
// version loads, publish) and of its index update (extend and save both HNSW
// indexes), for 1,000 new items by default.
//
// The base snapshot is generated once: random factors and embeddings (k 32),
// titles and genres for every item, a spec of genres, years and title words
// and random attribute maps, published as format 5 with both HNSW indexes
// built (the slow part: minutes for 1M items, which is why the base build
// uses ef_construction 20 by default; an extension inserts with the index's
// own ef_construction, so its cost scales with it). Sizes from the
// environment: RECSERVE_BENCH_ADD_BASE_ITEMS (default 1000000),
// RECSERVE_BENCH_ADD_NEW_ITEMS (default 1000), RECSERVE_BENCH_ADD_FACTORS
// (default 32), RECSERVE_BENCH_ADD_EFC (default 20), threads from
// RECSERVE_BENCH_ADD_THREADS (default 0 = all cores).

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "benchmark/benchmark.h"
#include "core/base/file_util.h"
#include "core/base/stopwatch.h"
#include "core/data/item_attributes.h"
#include "core/pipeline/add_items.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"

namespace recserve {

// The scratch folder once made, for main to remove.
std::string* scratch_dir = nullptr;  // NOLINT: set once

namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoll(value) : fallback;
}

const char* const kGenres[] = {"Action",    "Comedy",  "Drama",    "Horror",
                               "Romance",   "Sci-Fi",  "Thriller", "Western",
                               "Animation", "Mystery", "War",      "Musical"};
const char* const kWords[] = {"love", "war",   "night", "city",  "dead",
                              "last", "girl",  "man",   "story", "day",
                              "home", "blood", "house", "star",  "road"};

ItemMetadata GeneratedItem(int64_t n) {
  ItemMetadata m;
  m.genres = {kGenres[n % 12], kGenres[(n / 12 + 5) % 12]};
  m.year = static_cast<int32_t>(1950 + (n * 7) % 70);
  m.title = absl::StrCat("The ", kWords[n % 15], " ", kWords[(n / 15) % 15],
                         " (", m.year, ")");
  return m;
}

struct Base {
  std::string dir;   // scratch folder, removed at exit
  std::string root;  // dir/snapshots
  int64_t items = 0;
  double publish_seconds = 0, index_build_seconds = 0;
};

const Base& GetBase() {
  static const Base* base = [] {
    auto* b = new Base;
    char scratch[] = "/tmp/add_items_bench.XXXXXX";
    if (::mkdtemp(scratch) == nullptr) std::abort();
    b->dir = scratch;
    scratch_dir = new std::string(b->dir);
    b->root = b->dir + "/snapshots";
    b->items = EnvInt("RECSERVE_BENCH_ADD_BASE_ITEMS", 1000000);
    const auto k =
        static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ADD_FACTORS", 32));
    const int32_t users = 10000;
    std::mt19937_64 rng(5);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    auto random = [&](int64_t rows, int64_t cols) {
      FactorMatrix m(rows, cols);
      for (int64_t i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
      return m;
    };
    Dataset train;
    ItemCatalog catalog;
    for (int32_t u = 0; u < users; ++u)
      train.users.GetOrAdd(absl::StrCat("u", u));
    train.items.Reserve(b->items);
    catalog.reserve(b->items);
    std::vector<std::string> sample;
    for (int64_t i = 0; i < b->items; ++i) {
      const std::string id = absl::StrCat(i + 1);
      train.items.GetOrAdd(id);
      catalog[id] = GeneratedItem(i + 1);
      if (i < 20000) sample.push_back(id);
    }
    std::uniform_int_distribution<int32_t> item(0, b->items - 1);
    for (int32_t u = 0; u < users; ++u) {
      for (int32_t j = 0; j < 20; ++j) {
        train.ratings.push_back({u, item(rng), 1.0f + (u + j) % 5, j});
      }
    }
    ItemAttributeSources sources;
    sources.items = &catalog;
    ItemAttributeModel attributes;
    attributes.spec = BuildAttributeSpec(sample, sources, {});
    const int32_t d = attributes.spec.size();
    attributes.rating.emplace();
    attributes.rating->weights = random(d + 1, k + 1);
    attributes.rating->reg = 1.0f;
    attributes.retrieval.weights = random(d + 1, k);
    attributes.retrieval.reg = 1.0f;
    MfModel model;
    model.global_mean = 3.5f;
    model.scale = RatingScale{1.0f, 5.0f, 1.0f};
    model.user_factors = random(users, k);
    model.user_bias = random(users, 1).col(0);
    model.item_factors = random(b->items, k);
    model.item_bias = random(b->items, 1).col(0);
    RetrievalModel retrieval;
    retrieval.user_factors = random(users, k);
    retrieval.item_factors = random(b->items, k);
    FoldInParams fold_in;
    fold_in.rating.mean = Eigen::VectorXf::Zero(k + 1);
    fold_in.rating.precision = Eigen::VectorXf::Ones(k + 1);
    fold_in.retrieval = {.reg = 1.0f, .alpha = 1.0f, .unobserved_weight = 0.5f};
    SnapshotContents c;
    c.train = &train;
    c.model = &model;
    c.items = &catalog;
    c.algo = "bench";
    c.retrieval = &retrieval;
    c.fold_in = &fold_in;
    c.attributes = &attributes;
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::string> v = PublishSnapshot(b->root, c);
    if (!v.ok()) {
      std::fprintf(stderr, "publish: %s\n", v.status().ToString().c_str());
      std::abort();
    }
    b->publish_seconds = SecondsSince(start);
    ItemIndexOptions index;
    index.ef_construction =
        static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ADD_EFC", 20));
    index.threads =
        static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ADD_THREADS", 0));
    start = std::chrono::steady_clock::now();
    if (absl::Status s =
            BuildSnapshotIndexes(absl::StrCat(b->root, "/", *v), index);
        !s.ok()) {
      std::fprintf(stderr, "indexes: %s\n", s.ToString().c_str());
      std::abort();
    }
    b->index_build_seconds = SecondsSince(start);
    return b;
  }();
  return *base;
}

void BM_AddItems(benchmark::State& state) {
  const Base& base = GetBase();
  const int64_t added = EnvInt("RECSERVE_BENCH_ADD_NEW_ITEMS", 1000);
  const std::string items = base.dir + "/new_items.csv";
  std::string csv = "movieId,title,genres\n";
  int64_t next = base.items + 1;
  AddItemsReport report;
  for (auto _ : state) {
    state.PauseTiming();
    csv.resize(std::string("movieId,title,genres\n").size());
    for (int64_t n = 0; n < added; ++n, ++next) {
      const ItemMetadata m = GeneratedItem(next);
      absl::StrAppend(&csv, next, ",", m.title, ",",
                      absl::StrJoin(m.genres, "|"), "\n");
    }
    if (!WriteFileDurably(items, {csv}).ok()) std::abort();
    AddItemsOptions o;
    o.root = base.root;
    o.items_path = items;
    o.threads = static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ADD_THREADS", 0));
    state.ResumeTiming();
    absl::StatusOr<AddItemsReport> r = AddItems(o);
    if (!r.ok() || r->added != added || r->indexes_extended != 2) {
      state.SkipWithError(r.ok() ? "unexpected report"
                                 : std::string(r.status().message()).c_str());
      return;
    }
    report = *r;
  }
  state.counters["base_items"] = static_cast<double>(base.items);
  state.counters["added"] = static_cast<double>(report.added);
  state.counters["add_items_seconds"] = report.seconds;
  state.counters["index_update_seconds"] = report.index_seconds;
  state.counters["base_publish_seconds"] = base.publish_seconds;
  state.counters["base_index_build_seconds"] = base.index_build_seconds;
}
BENCHMARK(BM_AddItems)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace
}  // namespace recserve

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (recserve::scratch_dir != nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(*recserve::scratch_dir, ec);
  }
  return 0;
}
