// Implicit ALS speed on implicit-only data: a generated 20M-interaction set
// (138K users × 27K items by default, the size of MovieLens 20M) whose
// ratings are turned into play-count-like strengths (1 + 3^(rating − 1),
// long-tailed), trained as implicit feedback. Benchmarks: one sweep (user
// and item half-steps, then the final exact user step) at 32, 64 and 128
// factors on the log and linear confidence scales, with the default
// conjugate-gradient row solves and with exact ones, and one retrieval-tuning
// trial as TrainTwoStage runs it for implicit feedback (train on the validation
// sample minus its hold-out, score full-ranking Recall@10), whose time times
// the trials bounds the search (retrieval_tuning.h). The size is set by the
// environment: RECSERVE_BENCH_USERS, _ITEMS, _RATINGS.

#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "benchmark/benchmark.h"
#include "core/data/rating_reader.h"
#include "core/synthetic/synthetic_generator.h"
#include "core/train/implicit_als.h"
#include "core/train/retrieval_tuning.h"

namespace recserve {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoll(value) : fallback;
}

// The generated data set, read back through the real reader once, with
// every rating made a count.
const Dataset& Data() {
  static const Dataset* data = [] {
    GeneratorOptions gen;
    gen.users = static_cast<int32_t>(EnvInt("RECSERVE_BENCH_USERS", 138000));
    gen.items = static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ITEMS", 27000));
    gen.ratings = EnvInt("RECSERVE_BENCH_RATINGS", 20000000);
    gen.seed = 7;
    gen.oracle_metrics = false;
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / "recserve-implicit-bench";
    gen.out = (dir / "ratings.csv").string();
    auto* d = new Dataset;
    if (!GenerateSyntheticData(gen).ok() ||
        !ReadRatings(gen.out, RatingReadOptions(), d).ok()) {
      std::fprintf(stderr, "cannot generate the benchmark data in %s\n",
                   dir.c_str());
      std::exit(1);
    }
    std::filesystem::remove_all(dir);
    for (Rating& r : d->ratings) {
      r.value = 1.0f + std::pow(3.0f, r.value - 1.0f);
    }
    return d;
  }();
  return *data;
}

void Report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(Data().ratings.size()));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mb"] = usage.ru_maxrss / 1024.0;
  state.counters["interactions"] = static_cast<double>(Data().ratings.size());
}

// Args: factors, log scale (1) or linear (0). Default options (conjugate-
// gradient row solves); Exact: cg_steps 0, every row by Cholesky.
void ImplicitAlsSweep(benchmark::State& state, bool exact) {
  const Dataset& d = Data();
  ImplicitAlsOptions options;
  if (exact) options.cg_steps = 0;
  options.factors = static_cast<int32_t>(state.range(0));
  options.confidence_scale =
      state.range(1) != 0 ? ConfidenceScale::kLog : ConfidenceScale::kLinear;
  options.iterations = 1;
  for (auto _ : state) {
    auto model =
        TrainImplicitAls(d.num_users(), d.num_items(), d.ratings, options);
    benchmark::DoNotOptimize(model);
  }
  Report(state);
}
void BM_ImplicitAlsSweep(benchmark::State& state) {
  ImplicitAlsSweep(state, false);
}
void BM_ImplicitAlsSweepExact(benchmark::State& state) {
  ImplicitAlsSweep(state, true);
}
BENCHMARK(BM_ImplicitAlsSweep)
    ->Args({32, 1})
    ->Args({64, 1})
    ->Args({64, 0})
    ->Args({128, 1})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);
BENCHMARK(BM_ImplicitAlsSweepExact)
    ->Args({32, 1})
    ->Args({64, 1})
    ->Args({128, 1})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// Quality of the row solves, not speed: RECSERVE_BENCH_ITERATIONS (default
// 10) sweeps at the log scale with cg_steps = the second argument (0 =
// exact); counters: the final loss (ImplicitLoss) and seconds per sweep.
void BM_ImplicitAlsConvergence(benchmark::State& state) {
  const Dataset& d = Data();
  ImplicitAlsOptions options;
  options.factors = static_cast<int32_t>(state.range(0));
  options.confidence_scale = ConfidenceScale::kLog;
  options.iterations =
      static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ITERATIONS", 10));
  options.cg_steps = static_cast<int32_t>(state.range(1));
  double loss = 0;
  double seconds = 0;
  for (auto _ : state) {
    auto model = TrainImplicitAls(
        d.num_users(), d.num_items(), d.ratings, options,
        [&](int32_t, double, double elapsed) { seconds = elapsed; });
    if (!model.ok()) {
      state.SkipWithError(std::string(model.status().message()).c_str());
      return;
    }
    loss = model->loss_history.back();
  }
  state.counters["loss"] = loss;
  state.counters["s_per_sweep"] = seconds / options.iterations;
}
BENCHMARK(BM_ImplicitAlsConvergence)
    ->Args({64, 0})
    ->Args({64, 1})
    ->Args({64, 2})
    ->Args({64, 3})
    ->Args({64, 4})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// One trial of the search at the default sample size and iterations: the
// start only (a budget too small for a second trial).
void BM_RetrievalTuningTrial(benchmark::State& state) {
  const Dataset& d = Data();
  ImplicitAlsOptions start;
  start.factors = static_cast<int32_t>(state.range(0));
  RetrievalTuningOptions options;
  options.seconds = 1e-9;
  double recall = 0;
  for (auto _ : state) {
    auto tuned = TuneRetrieval(d, start, options);
    if (!tuned.ok()) {
      state.SkipWithError(std::string(tuned.status().message()).c_str());
      return;
    }
    recall = tuned->recall;
  }
  state.counters["recall@10"] = recall;
  Report(state);
}
BENCHMARK(BM_RetrievalTuningTrial)
    ->Arg(32)
    ->Arg(128)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

}  // namespace
}  // namespace recserve

BENCHMARK_MAIN();
