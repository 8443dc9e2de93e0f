// Training throughput on a generated MovieLens-20M-sized set (138K users ×
// 27K items × 20M ratings by default, 64 factors): one ALS iteration (default
// options, and with exact row solves), one SGD epoch and one BPMF sweep per
// benchmark iteration, with ratings/s. The size
// is set by the environment: RECSERVE_BENCH_USERS, _ITEMS, _RATINGS,
// _FACTORS. Run it through scripts/bench.sh, which also times a complete
// training run.

#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "core/data/rating_reader.h"
#include "core/synthetic/synthetic_generator.h"
#include "core/train/als_trainer.h"
#include "core/train/bpmf_trainer.h"
#include "core/train/early_stopping.h"
#include "core/train/sgd_trainer.h"

namespace recserve {
namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoll(value) : fallback;
}

int32_t Factors() {
  return static_cast<int32_t>(EnvInt("RECSERVE_BENCH_FACTORS", 64));
}

// The generated data set, read back through the real reader once.
const Dataset& Data() {
  static const Dataset* data = [] {
    GeneratorOptions gen;
    gen.users = static_cast<int32_t>(EnvInt("RECSERVE_BENCH_USERS", 138000));
    gen.items = static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ITEMS", 27000));
    gen.ratings = EnvInt("RECSERVE_BENCH_RATINGS", 20000000);
    gen.seed = 7;
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / "recserve-training-bench";
    gen.out = (dir / "ratings.csv").string();
    auto* d = new Dataset;
    if (!GenerateSyntheticData(gen).ok() ||
        !ReadRatings(gen.out, RatingReadOptions(), d).ok()) {
      std::fprintf(stderr, "cannot generate the benchmark data in %s\n",
                   dir.c_str());
      std::exit(1);
    }
    std::filesystem::remove_all(dir);
    return d;
  }();
  return *data;
}

void ReportRatePeakMemory(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() *
                          static_cast<int64_t>(Data().ratings.size()));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mb"] = usage.ru_maxrss / 1024.0;
  state.counters["ratings"] = static_cast<double>(Data().ratings.size());
}

// The default options (conjugate-gradient row solves); Exact: cg_steps 0,
// every row by Cholesky, as before conjugate gradient.
void AlsIteration(benchmark::State& state, int32_t cg_steps) {
  const Dataset& d = Data();
  AlsOptions options;
  options.factors = Factors();
  options.max_iterations = 1;
  if (cg_steps >= 0) options.cg_steps = cg_steps;
  for (auto _ : state) {
    auto result = TrainAls(d.num_users(), d.num_items(), d.ratings, {},
                           RatingScale{0.5f, 5.0f, 0.5f}, options);
    benchmark::DoNotOptimize(result);
  }
  ReportRatePeakMemory(state);
}
void BM_AlsIteration(benchmark::State& state) { AlsIteration(state, -1); }
void BM_AlsIterationExact(benchmark::State& state) { AlsIteration(state, 0); }

// Quality of the row solves, not speed: RECSERVE_BENCH_ITERATIONS (default
// 10) iterations with cg_steps = the argument (0 = exact) on 90% of the
// ratings, without early stopping; counters: the last iteration's training
// and validation RMSE (10% carved out) and seconds per iteration.
void BM_AlsConvergence(benchmark::State& state) {
  const Dataset& d = Data();
  static const auto* split = [&] {
    auto* parts = new std::pair<std::vector<Rating>, std::vector<Rating>>;
    CarveValidation(d.ratings, 0.1, 3, &parts->first, &parts->second);
    return parts;
  }();
  AlsOptions options;
  options.factors = Factors();
  options.max_iterations =
      static_cast<int32_t>(EnvInt("RECSERVE_BENCH_ITERATIONS", 10));
  options.early_stopping.patience = options.max_iterations;
  options.cg_steps = static_cast<int32_t>(state.range(0));
  EpochStats last;
  for (auto _ : state) {
    auto result =
        TrainAls(d.num_users(), d.num_items(), split->first, split->second,
                 RatingScale{0.5f, 5.0f, 0.5f}, options);
    if (!result.ok()) {
      state.SkipWithError(std::string(result.status().message()).c_str());
      return;
    }
    last = result->history.back();
  }
  state.counters["train_rmse"] = last.train_rmse;
  state.counters["valid_rmse"] = last.valid_rmse;
  state.counters["s_per_iter"] = last.seconds / last.epoch;
}

void BM_SgdEpoch(benchmark::State& state) {
  const Dataset& d = Data();
  SgdOptions options;
  options.factors = Factors();
  options.max_epochs = 1;
  for (auto _ : state) {
    auto result = TrainSgd(d.num_users(), d.num_items(), d.ratings, {},
                           RatingScale{0.5f, 5.0f, 0.5f}, options);
    benchmark::DoNotOptimize(result);
  }
  ReportRatePeakMemory(state);
}

void BM_BpmfSweep(benchmark::State& state) {
  const Dataset& d = Data();
  BpmfOptions options;
  options.factors = Factors();
  options.sweeps = 1;
  options.burn_in = 0;
  for (auto _ : state) {
    auto result = TrainBpmf(d.num_users(), d.num_items(), d.ratings, {},
                            RatingScale{0.5f, 5.0f, 0.5f}, options);
    benchmark::DoNotOptimize(result);
  }
  ReportRatePeakMemory(state);
}

// Each iteration includes building the per-side index, initialization and
// one RMSE pass, as a one-epoch training does; a long run amortizes them.
BENCHMARK(BM_AlsIteration)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_AlsIterationExact)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_AlsConvergence)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Arg(4)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_SgdEpoch)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_BpmfSweep)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace recserve

BENCHMARK_MAIN();
