// The server's Recommend, SimilarItems and PredictRating paths
// (core::ServingModel, no gRPC) on a generated catalog or a given snapshot:
// latency per call (p50 and p99 as counters) and recall@10 against the exact
// (brute-force) answer, whose latency is measured beside it; Recommend at the
// default limits, at HNSW breadths 100..20000 and at norm-scan budgets
// 0..65536; index build and load times and resident memory (BM_Setup).
//
// Setup, once per process: items get retrieval embeddings built from a few
// shared latent directions plus noise, scaled by a lognormal(0, σ) norm; users
// are unit vectors built the same way; the rating model is random 16-factor
// MF with biases; each user has
// ~20 seen items drawn with a popularity skew. This is published with
// PublishSnapshot (ranking: 200 candidates, blend weight 0.5) into a
// temporary folder, loaded with LoadServingModel (which builds and saves
// both HNSW indexes with default ItemIndexOptions), then loaded again (the
// indexes now come from disk); BM_Setup reports both times. The folder is
// removed at exit.
//
// The environment sets: RECSERVE_BENCH_SERVING_ITEMS (default 1,000,000),
// RECSERVE_BENCH_SERVING_USERS (default 2,000), RECSERVE_BENCH_SERVING_DIMS
// (default 64) and RECSERVE_BENCH_SERVING_NORM_SIGMA (σ in thousandths,
// default 1800: implicit ALS trained by recserve-train on a generated
// catalog of 290K items gave norm percentiles 10/50/90/99 of 0.00056,
// 0.0057, 0.090 and 0.34, a lognormal σ of 1.8 to 2.1; 500 is a much
// flatter, harder case for retrieval). RECSERVE_BENCH_SERVING_SNAPSHOT names
// a snapshot version folder to measure instead (copied, its indexes built
// anew). RECSERVE_BENCH_SERVING_INDEX_M and _INDEX_EFC override the index
// options. RECSERVE_BENCH_SERVING_KEEP names a folder (on the same file
// system) that receives the generated snapshots folder, saved indexes
// included, instead of deleting it. At 1M items the index build takes
// minutes on two cores.

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "core/base/parallel_for.h"
#include "core/base/random_stream.h"
#include "core/base/status_macros.h"
#include "core/data/ratings.h"
#include "core/index/item_index.h"
#include "core/model/mf_model.h"
#include "core/model/user_fold_in.h"
#include "core/serve/serving_model.h"
#include "core/serve/serving_model_loader.h"
#include "core/snapshot/snapshot_writer.h"
#include "core/train/implicit_als.h"

namespace recserve {
namespace {

SimilarItemsQuery SimilarTo(const std::string& item_id, int32_t k) {
  SimilarItemsQuery query;
  query.item_ids = {item_id};
  query.k = k;
  return query;
}

PredictQuery Prediction(const std::string& user_id,
                        const std::string& item_id) {
  PredictQuery query;
  query.user_id = user_id;
  query.item_id = item_id;
  return query;
}

using Clock = std::chrono::steady_clock;

constexpr uint64_t kSeed = 2024;
constexpr int32_t kN = 10;                 // Recommend n, SimilarItems k
constexpr int32_t kTruthQueries = 200;     // users / items with exact answers
constexpr int32_t kTimedItems = 2000;      // SimilarItems round robin
constexpr int32_t kLatentDirections = 32;  // shared structure
constexpr int32_t kDirectionsPerRow = 3;
constexpr double kNoise = 0.5;  // noise norm relative to the latent mix
constexpr int32_t kRatingFactors = 16;
constexpr int32_t kSeenPerUser = 20;
constexpr int32_t kCandidates = 200;
constexpr float kBlendWeight = 0.5f;

// Streams of RandomStream(kSeed, stream, row).
enum Stream : uint64_t {
  kLatentStream = 1,
  kItemStream,
  kUserStream,
  kSeenStream,
  kBiasStream,
  kLabelStream,
  kRecentStream,
};

// Labels letting through about this many items per thousand, for filtered
// Recommend: "share500", "share200", "share50" and "share1" (nested: share1
// ⊂ share50 ⊂ share200 ⊂ share500). And labels of exactly every k-th item
// ("size2048": items i % (num_items / 2048) == 0, ...), where an allow-list of
// the same size is the other path, to place kExactAllowedItems.
constexpr int32_t kSharePerMille[] = {500, 200, 50, 1};
constexpr int32_t kLabelSizes[] = {1024, 2048, 4096, 8192, 16384};

// Resident memory of this process, from /proc/self/statm.
double ResidentMb() {
  long pages_total = 0, pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) {
      pages_resident = 0;
    }
    std::fclose(f);
  }
  return static_cast<double>(pages_resident) * ::sysconf(_SC_PAGESIZE) /
         (1024.0 * 1024.0);
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::atoll(value) : fallback;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Setup {
  absl::Status status;
  std::string root;         // temporary folder, removed at exit
  std::string version_dir;  // the snapshot served
  int32_t num_items = 0;
  int32_t num_users = 0;
  int32_t dims = 0;
  double norm_sigma = 0;
  double generate_seconds = 0;
  double publish_seconds = 0;
  double first_load_seconds = 0;
  double second_load_seconds = 0;
  double resident_before_load_mb = 0;
  double resident_serving_mb = 0;  // with the second load's model only
  ServingModelLoadReport first_load;
  ServingModelLoadReport second_load;
  std::shared_ptr<const ServingModel> model;  // the second load's

  std::vector<RecommendQuery> queries;  // one per user, round robin
  std::vector<int32_t> truth_users;
  std::vector<absl::flat_hash_set<int32_t>> exact_recommend;  // top kN
  std::vector<absl::flat_hash_set<int32_t>> exact_pool;       // top kCandidates
  std::vector<std::string> similar_ids;  // kTimedItems items, round robin
  std::vector<int32_t> truth_items;
  std::vector<absl::flat_hash_set<int32_t>> exact_similar;  // top kN
  std::vector<float> exact_similar_last;  // the kN-th best cosine
  double default_recall = 0;
  double default_similar_recall = 0;
};

// Row r = scale_r · normalize(Σ w·latent[c] + noise), with kDirectionsPerRow
// latent rows c picked at random, normal weights w, Gaussian noise of norm
// ~kNoise·|mix|, and scale_r lognormal(0, sigma) (1 when sigma is 0).
void FillStructured(const FactorMatrix& latent, Stream stream, double sigma,
                    FactorMatrix* out) {
  const auto dims = static_cast<int32_t>(latent.cols());
  ParallelFor(out->rows(), 0, [&](int64_t begin, int64_t end, int32_t) {
    Eigen::VectorXf mix(dims);
    for (int64_t r = begin; r < end; ++r) {
      RandomStream rng(kSeed, stream, static_cast<uint64_t>(r));
      mix.setZero();
      for (int32_t j = 0; j < kDirectionsPerRow; ++j) {
        const auto c = static_cast<int64_t>(rng.Next() % kLatentDirections);
        mix += static_cast<float>(rng.Normal()) * latent.row(c).transpose();
      }
      const double noise =
          kNoise * std::max(mix.norm(), 1e-3f) / std::sqrt(dims);
      for (int32_t c = 0; c < dims; ++c) {
        mix[c] += static_cast<float>(noise * rng.Normal());
      }
      const double scale = std::exp(sigma * rng.Normal());
      out->row(r) = (mix.normalized() * static_cast<float>(scale)).transpose();
    }
  });
}

// Publishes the generated snapshot under root and returns its folder.
absl::StatusOr<std::string> GenerateAndPublish(Setup* s) {
  const auto start = Clock::now();
  const int32_t items = s->num_items, users = s->num_users, dims = s->dims;
  FactorMatrix latent(kLatentDirections, dims);
  for (int32_t r = 0; r < kLatentDirections; ++r) {
    RandomStream rng(kSeed, kLatentStream, r);
    for (int32_t c = 0; c < dims; ++c) {
      latent(r, c) = static_cast<float>(rng.Normal());
    }
    latent.row(r).normalize();
  }
  RetrievalModel retrieval;
  retrieval.item_factors.resize(items, dims);
  retrieval.user_factors.resize(users, dims);
  FillStructured(latent, kItemStream, s->norm_sigma, &retrieval.item_factors);
  FillStructured(latent, kUserStream, 0.0, &retrieval.user_factors);

  MfModel model = MakeInitialModel(users, items, kRatingFactors, 0.3f, kSeed);
  model.global_mean = 3.5f;
  model.scale = RatingScale{1.0f, 5.0f, 1.0f};
  RandomStream bias_rng(kSeed, kBiasStream);
  for (int32_t u = 0; u < users; ++u) {
    model.user_bias[u] = static_cast<float>(0.3 * bias_rng.Normal());
  }
  for (int32_t i = 0; i < items; ++i) {
    model.item_bias[i] = static_cast<float>(0.5 * bias_rng.Normal());
  }

  Dataset train;
  train.users.Reserve(users);
  train.items.Reserve(items);
  for (int32_t u = 0; u < users; ++u)
    train.users.GetOrAdd(absl::StrCat("u", u));
  for (int32_t i = 0; i < items; ++i)
    train.items.GetOrAdd(absl::StrCat("i", i));
  const int32_t seen = std::min(kSeenPerUser, items);
  train.ratings.reserve(static_cast<size_t>(users) * seen);
  for (int32_t u = 0; u < users; ++u) {
    RandomStream rng(kSeed, kSeenStream, u);
    absl::flat_hash_set<int32_t> picked;
    while (static_cast<int32_t>(picked.size()) < seen) {
      // Cubing a uniform draw gives a heavy head: item 0 is the most popular.
      const double x = rng.Uniform();
      const auto item =
          std::min<int32_t>(items - 1, static_cast<int32_t>(items * x * x * x));
      if (!picked.insert(item).second) continue;
      train.ratings.push_back(
          {u, item, std::round(model.Predict(u, item)), int64_t{u}});
    }
  }
  s->generate_seconds = SecondsSince(start);

  ItemLabelMap labels;
  for (int32_t i = 0; i < items; ++i) {
    std::vector<std::string> item_labels;
    const double u = RandomStream(kSeed, kLabelStream, i).Uniform();
    for (const int32_t share : kSharePerMille) {
      if (u * 1000.0 < share)
        item_labels.push_back(absl::StrCat("share", share));
    }
    for (const int32_t size : kLabelSizes) {
      if (i % std::max(1, items / size) == 0) {
        item_labels.push_back(absl::StrCat("size", size));
      }
    }
    if (!item_labels.empty())
      labels[train.items.Id(i)] = std::move(item_labels);
  }
  // Fold-in as implicit ALS and ALS would record it.
  FoldInParams fold_in;
  fold_in.rating = RatingUserPrior::Ridge(kRatingFactors, 0.05f, 0.05f);
  fold_in.retrieval = {.reg = 1.0f, .alpha = 1.0f, .unobserved_weight = 1.0f};

  SnapshotContents contents;
  contents.train = &train;
  contents.model = &model;
  contents.algo = "serving_bench";
  contents.retrieval = &retrieval;
  contents.ranking = TwoStageOptions{kCandidates, kBlendWeight};
  if (std::getenv("RECSERVE_BENCH_SERVING_NO_FOLD_IN") == nullptr) {
    contents.fold_in = &fold_in;
    contents.labels = &labels;
  }
  const auto publish_start = Clock::now();
  ASSIGN_OR_RETURN(const std::string version,
                   PublishSnapshot(s->root + "/snapshots", contents));
  s->publish_seconds = SecondsSince(publish_start);
  return absl::StrCat(s->root, "/snapshots/", version);
}

ServingModelLoadOptions LoadOptions() {
  ServingModelLoadOptions o;
  o.index.m =
      static_cast<int32_t>(EnvInt("RECSERVE_BENCH_SERVING_INDEX_M", o.index.m));
  o.index.ef_construction = static_cast<int32_t>(
      EnvInt("RECSERVE_BENCH_SERVING_INDEX_EFC", o.index.ef_construction));
  o.norm_scan_items = static_cast<int32_t>(
      EnvInt("RECSERVE_BENCH_SERVING_NORM_SCAN", o.norm_scan_items));
  return o;
}

absl::StatusOr<std::shared_ptr<const ServingModel>> TimedLoad(
    const std::string& dir, ServingModelLoadReport* report, double* seconds) {
  const auto start = Clock::now();
  auto model = LoadServingModel(dir, LoadOptions(), report);
  *seconds = SecondsSince(start);
  return model;
}

// The first `size` unseen items of `found`, as Retrieve keeps them.
absl::flat_hash_set<int32_t> PoolOf(const std::vector<ScoredItem>& found,
                                    absl::Span<const int32_t> seen,
                                    int32_t size) {
  absl::flat_hash_set<int32_t> pool;
  for (const ScoredItem& n : found) {
    if (static_cast<int32_t>(pool.size()) == size) break;
    if (!std::binary_search(seen.begin(), seen.end(), n.item)) {
      pool.insert(n.item);
    }
  }
  return pool;
}

// How many items retrieval asks the index for (see ServingModel::Retrieve).
int32_t Wanted(const ServingModel& model, int32_t user) {
  const Snapshot& s = model.snapshot();
  return static_cast<int32_t>(std::min<int64_t>(
      s.num_items(), int64_t{s.ranking().candidates} +
                         static_cast<int64_t>(s.SeenItems(user).size())));
}

double RecommendRecall(const Setup& s, const ServingModel& model,
                       const ServingPolicy& policy) {
  int64_t hits = 0, total = 0;
  for (size_t t = 0; t < s.truth_users.size(); ++t) {
    const auto found =
        model.Recommend(s.queries[s.truth_users[t]], ServingLimits(), policy)
            .value();
    for (const RecommendedItem& item : found.items) {
      hits += s.exact_recommend[t].contains(item.item);
    }
    total += static_cast<int64_t>(s.exact_recommend[t].size());
  }
  return total > 0 ? static_cast<double>(hits) / total : 0.0;
}

double SimilarRecall(const Setup& s, const ServingPolicy& policy) {
  int64_t hits = 0, total = 0;
  for (size_t t = 0; t < s.truth_items.size(); ++t) {
    const auto found =
        s.model
            ->SimilarItems(
                SimilarTo(s.model->snapshot().ItemId(s.truth_items[t]), kN),
                ServingLimits(), policy)
            .value()
            .items;
    // Trained embeddings have groups of items pointing exactly the same
    // way; any of a tie at the kN-th cosine is as right as the exact
    // answer's pick.
    for (const SimilarItem& item : found) {
      hits += s.exact_similar[t].contains(item.item) ||
              item.similarity >= s.exact_similar_last[t];
    }
    total += static_cast<int64_t>(s.exact_similar[t].size());
  }
  return total > 0 ? static_cast<double>(hits) / total : 0.0;
}

absl::Status BuildSetup(Setup* s) {
  s->num_items =
      static_cast<int32_t>(EnvInt("RECSERVE_BENCH_SERVING_ITEMS", 1'000'000));
  s->num_users =
      static_cast<int32_t>(EnvInt("RECSERVE_BENCH_SERVING_USERS", 2'000));
  s->dims = static_cast<int32_t>(EnvInt("RECSERVE_BENCH_SERVING_DIMS", 64));
  s->norm_sigma =
      static_cast<double>(EnvInt("RECSERVE_BENCH_SERVING_NORM_SIGMA", 1800)) /
      1000.0;
  if (s->num_items < 1 || s->num_users < 1 || s->dims < 1) {
    return absl::InvalidArgumentError("sizes must be positive");
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string root =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/serving_bench.XXXXXX";
  if (::mkdtemp(root.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create ", root));
  }
  s->root = root;

  std::string dir;
  if (const char* given = std::getenv("RECSERVE_BENCH_SERVING_SNAPSHOT")) {
    // A copy, so that the indexes built here land beside it, not beside the
    // original, and the first load always builds.
    dir = s->root + "/snapshot";
    std::error_code error;
    std::filesystem::copy(given, dir, std::filesystem::copy_options::recursive,
                          error);
    if (error) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot copy ", given, ": ", error.message()));
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (absl::EndsWith(entry.path().string(), ".hnsw")) {
        std::filesystem::remove(entry.path());
      }
    }
    std::fprintf(stderr, "serving_bench: snapshot %s; building both indexes\n",
                 given);
    s->norm_sigma = 0;  // not generated
  } else {
    std::fprintf(stderr,
                 "serving_bench: generating and publishing %d items x %d "
                 "dims, %d users\n",
                 s->num_items, s->dims, s->num_users);
    ASSIGN_OR_RETURN(dir, GenerateAndPublish(s));
    std::fprintf(stderr,
                 "serving_bench: published in %.1f s; building both indexes\n",
                 s->publish_seconds);
  }
  s->resident_before_load_mb = ResidentMb();
  {
    ASSIGN_OR_RETURN(auto first,
                     TimedLoad(dir, &s->first_load, &s->first_load_seconds));
  }  // dropped before the second load to halve peak memory
  ASSIGN_OR_RETURN(s->model,
                   TimedLoad(dir, &s->second_load, &s->second_load_seconds));
  s->version_dir = dir;
  s->resident_serving_mb = ResidentMb();
  std::fprintf(stderr,
               "serving_bench: first load %.1f s (indexes %.1f s), second "
               "load %.2f s; computing exact answers\n",
               s->first_load_seconds, s->first_load.index_seconds,
               s->second_load_seconds);

  const ServingModel& model = *s->model;
  const Snapshot& snapshot = model.snapshot();
  s->num_items = snapshot.num_items();
  s->num_users = snapshot.num_users();
  s->dims = static_cast<int32_t>(model.item_vectors().cols());
  for (int32_t u = 0; u < s->num_users; ++u) {
    RecommendQuery q;
    q.user_id = snapshot.UserId(u);
    q.n = kN;
    s->queries.push_back(std::move(q));
  }
  const int32_t truth_users = std::min(kTruthQueries, s->num_users);
  for (int32_t t = 0; t < truth_users; ++t) {
    s->truth_users.push_back(
        static_cast<int32_t>(int64_t{t} * s->num_users / truth_users));
  }
  const int32_t timed_items = std::min(kTimedItems, s->num_items);
  for (int32_t t = 0; t < timed_items; ++t) {
    const auto item =
        static_cast<int32_t>(int64_t{t} * s->num_items / timed_items);
    s->similar_ids.push_back(snapshot.ItemId(item));
    if (t % std::max(1, timed_items / kTruthQueries) == 0 &&
        static_cast<int32_t>(s->truth_items.size()) < kTruthQueries) {
      s->truth_items.push_back(item);
    }
  }

  s->exact_recommend.resize(s->truth_users.size());
  s->exact_pool.resize(s->truth_users.size());
  s->exact_similar.resize(s->truth_items.size());
  s->exact_similar_last.resize(s->truth_items.size());
  std::vector<absl::Status> errors(s->truth_users.size());
  const Eigen::Map<const FactorMatrix> items = model.item_vectors();
  const Eigen::Map<const FactorMatrix> users = model.user_vectors();
  ParallelFor(
      static_cast<int64_t>(s->truth_users.size()), 0,
      [&](int64_t begin, int64_t end, int32_t) {
        for (int64_t t = begin; t < end; ++t) {
          const int32_t user = s->truth_users[t];
          RecommendQuery q = s->queries[user];
          q.exact = true;
          auto exact = model.Recommend(q, ServingLimits(), ServingPolicy());
          if (!exact.ok()) {
            errors[t] = exact.status();
            continue;
          }
          for (const RecommendedItem& item : exact->items) {
            s->exact_recommend[t].insert(item.item);
          }
          s->exact_pool[t] = PoolOf(
              ExactNeighbors(
                  items, IndexSpace::kInnerProduct,
                  absl::Span<const float>(users.row(user).data(), users.cols()),
                  Wanted(model, user)),
              snapshot.SeenItems(user), snapshot.ranking().candidates);
        }
      },
      1);
  for (const absl::Status& error : errors) RETURN_IF_ERROR(error);
  ParallelFor(
      static_cast<int64_t>(s->truth_items.size()), 0,
      [&](int64_t begin, int64_t end, int32_t) {
        for (int64_t t = begin; t < end; ++t) {
          const int32_t item = s->truth_items[t];
          for (const ScoredItem& n :
               ExactNeighbors(items, IndexSpace::kCosine,
                              absl::Span<const float>(items.row(item).data(),
                                                      items.cols()),
                              kN + 1)) {
            if (n.item != item &&
                static_cast<int32_t>(s->exact_similar[t].size()) < kN) {
              s->exact_similar[t].insert(n.item);
              s->exact_similar_last[t] = n.score;
            }
          }
        }
      },
      1);
  s->default_recall = RecommendRecall(*s, *s->model, ServingPolicy());
  s->default_similar_recall = SimilarRecall(*s, ServingPolicy());
  return absl::OkStatus();
}

Setup*& SetupSlot() {
  static Setup* setup = nullptr;
  return setup;
}

const Setup& GetSetup() {
  static const Setup* const setup = [] {
    auto* s = new Setup;
    SetupSlot() = s;
    s->status = BuildSetup(s);
    return s;
  }();
  return *setup;
}

bool SetupOk(benchmark::State& state) {
  const Setup& s = GetSetup();
  if (!s.status.ok()) {
    state.SkipWithError(std::string(s.status.message()).c_str());
    return false;
  }
  return true;
}

// Latency percentiles (microseconds) of per-call wall times.
void ReportLatency(benchmark::State& state, std::vector<double> micros) {
  if (micros.empty()) return;
  std::sort(micros.begin(), micros.end());
  const auto at = [&](double q) {
    return micros[std::min(micros.size() - 1,
                           static_cast<size_t>(q * micros.size()))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
}

enum class Retrieval { kApproximate, kExact };

void RunRecommend(benchmark::State& state, const ServingPolicy& policy,
                  Retrieval retrieval, const ServingModel* with = nullptr) {
  const bool exact = retrieval == Retrieval::kExact;
  if (!SetupOk(state)) return;
  const Setup& s = GetSetup();
  const ServingModel& model = with != nullptr ? *with : *s.model;
  std::vector<double> micros;
  size_t next = 0;
  int64_t settled = 0, scanned = 0;
  for (auto _ : state) {
    RecommendQuery q = s.queries[next];
    q.exact = exact;
    const auto start = Clock::now();
    auto found = model.Recommend(q, ServingLimits(), policy);
    micros.push_back(SecondsSince(start) * 1e6);
    if (!found.ok()) {
      state.SkipWithError(std::string(found.status().message()).c_str());
      return;
    }
    settled += found->ef == 0;
    scanned += found->items_scanned;
    benchmark::DoNotOptimize(found);
    next = (next + 1) % s.queries.size();
  }
  const double calls = std::max<double>(1.0, micros.size());
  ReportLatency(state, std::move(micros));
  if (exact) return;
  // Share of calls the norm-ordered scan answered alone, and its reads.
  state.counters["scan_settled"] = settled / calls;
  state.counters["items_scanned"] = scanned / calls;
  state.counters["recall_at_10"] = RecommendRecall(s, model, policy);
  if (with != nullptr) return;
  // The retrieval stage alone: HNSW's pool against the exact pool, at the
  // breadth Recommend uses (at least the items it asks for, ~220).
  int64_t hits = 0, total = 0;
  double breadth = 0;
  const int32_t ef_or_auto =
      policy.ef > 0
          ? policy.ef
          : std::max(100, 2 * s.model->snapshot().ranking().candidates);
  const Eigen::Map<const FactorMatrix> users = s.model->user_vectors();
  for (size_t t = 0; t < s.truth_users.size(); ++t) {
    const int32_t user = s.truth_users[t];
    const int32_t wanted = Wanted(*s.model, user);
    const int32_t ef = std::max(ef_or_auto, wanted);
    breadth += ef;
    const auto found = s.model->retrieval_index()
                           .Search(absl::Span<const float>(
                                       users.row(user).data(), users.cols()),
                                   wanted, ef)
                           .value();
    for (const int32_t item :
         PoolOf(found, s.model->snapshot().SeenItems(user),
                s.model->snapshot().ranking().candidates)) {
      hits += s.exact_pool[t].contains(item);
    }
    total += static_cast<int64_t>(s.exact_pool[t].size());
  }
  state.counters["pool_recall"] =
      total > 0 ? static_cast<double>(hits) / total : 0.0;
  state.counters["search_ef"] =
      breadth / std::max<size_t>(1, s.truth_users.size());
}

// Index build (first load) and index load (second load) times.
void BM_Setup(benchmark::State& state) {
  for (auto _ : state) {
    if (!SetupOk(state)) return;
  }
  const Setup& s = GetSetup();
  state.counters["items"] = s.num_items;
  state.counters["users"] = s.num_users;
  state.counters["dims"] = s.dims;
  state.counters["norm_sigma"] = s.norm_sigma;
  state.counters["generate_s"] = s.generate_seconds;
  state.counters["publish_s"] = s.publish_seconds;
  state.counters["index_build_s"] = s.first_load.index_seconds;
  state.counters["first_load_s"] = s.first_load_seconds;
  state.counters["index_load_s"] = s.second_load.index_seconds;
  state.counters["second_load_s"] = s.second_load_seconds;
  state.counters["indexes_loaded"] = s.second_load.retrieval_index_loaded &&
                                     s.second_load.similarity_index_loaded;
  // What serving the snapshot adds to the process: the mapped snapshot, both
  // indexes and the norm-ordered scan's copy (malloc may keep freed memory
  // of the first load, so this can overstate).
  const double model_mb = s.resident_serving_mb - s.resident_before_load_mb;
  state.counters["serving_rss_mb"] = model_mb;
  state.counters["rss_mb_per_million_items"] =
      model_mb * 1e6 / std::max(1, s.num_items);
}
BENCHMARK(BM_Setup)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// Default ServingPolicy: ef automatic (twice the pool of 200 = 400).
void BM_RecommendHnsw(benchmark::State& state) {
  RunRecommend(state, ServingPolicy(), Retrieval::kApproximate);
}
BENCHMARK(BM_RecommendHnsw)
    ->MinTime(2.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// ServingPolicy::ef from the argument; 1600..20000 (the maximum) show where
// recall stops improving with breadth. The search breadth is never below the
// items asked for (pool + seen, ~220), so ef 100 and 200 both search ~220.
void BM_RecommendHnswEf(benchmark::State& state) {
  ServingPolicy policy;
  policy.ef = static_cast<int32_t>(state.range(0));
  RunRecommend(state, policy, Retrieval::kApproximate);
}
BENCHMARK(BM_RecommendHnswEf)
    ->ArgName("ef")
    ->Arg(100)
    ->Arg(200)
    ->Arg(400)
    ->Arg(800)
    ->Arg(1600)
    ->Arg(3200)
    ->Arg(20000)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The norm-ordered scan's budget (ServingModelLoadOptions::norm_scan_items)
// from the argument: the same snapshot loaded again, indexes from disk.
void BM_RecommendScanBudget(benchmark::State& state) {
  if (!SetupOk(state)) return;
  static auto* models =
      new std::map<int64_t, std::shared_ptr<const ServingModel>>();
  std::shared_ptr<const ServingModel>& model = (*models)[state.range(0)];
  if (model == nullptr) {
    ServingModelLoadOptions o = LoadOptions();
    o.norm_scan_items = static_cast<int32_t>(state.range(0));
    auto loaded = LoadServingModel(GetSetup().version_dir, o);
    if (!loaded.ok()) {
      state.SkipWithError(std::string(loaded.status().message()).c_str());
      return;
    }
    model = *loaded;
  }
  RunRecommend(state, ServingPolicy(), Retrieval::kApproximate, model.get());
}
BENCHMARK(BM_RecommendScanBudget)
    ->ArgName("scan")
    ->Arg(0)
    ->Arg(4096)
    ->Arg(16384)
    ->Arg(32768)
    ->Arg(65536)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Brute force over every item (tens of ms at 1M items).
void BM_RecommendExact(benchmark::State& state) {
  RunRecommend(state, ServingPolicy(), Retrieval::kExact);
}
BENCHMARK(BM_RecommendExact)
    ->Iterations(40)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SimilarItems(benchmark::State& state) {
  if (!SetupOk(state)) return;
  const Setup& s = GetSetup();
  const ServingLimits limits;
  const ServingPolicy policy;
  std::vector<double> micros;
  size_t next = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto found = s.model->SimilarItems(SimilarTo(s.similar_ids[next], kN),
                                       limits, policy);
    micros.push_back(SecondsSince(start) * 1e6);
    if (!found.ok()) {
      state.SkipWithError(std::string(found.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(found);
    next = (next + 1) % s.similar_ids.size();
  }
  ReportLatency(state, std::move(micros));
  state.counters["recall_at_10"] = s.default_similar_recall;
}
BENCHMARK(BM_SimilarItems)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// SimilarItems by brute force: cosine against every item.
void BM_SimilarItemsExact(benchmark::State& state) {
  if (!SetupOk(state)) return;
  const Setup& s = GetSetup();
  const Eigen::Map<const FactorMatrix> items = s.model->item_vectors();
  std::vector<double> micros;
  size_t next = 0;
  for (auto _ : state) {
    const int32_t item = s.truth_items[next % s.truth_items.size()];
    const auto start = Clock::now();
    auto found = ExactNeighbors(
        items, IndexSpace::kCosine,
        absl::Span<const float>(items.row(item).data(), items.cols()), kN + 1);
    micros.push_back(SecondsSince(start) * 1e6);
    benchmark::DoNotOptimize(found);
    ++next;
  }
  ReportLatency(state, std::move(micros));
}
BENCHMARK(BM_SimilarItemsExact)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_PredictRating(benchmark::State& state) {
  if (!SetupOk(state)) return;
  const Setup& s = GetSetup();
  const ServingLimits limits;
  const ServingPolicy policy;
  const Snapshot& snapshot = s.model->snapshot();
  std::vector<double> micros;
  size_t next = 0;
  for (auto _ : state) {
    const std::string& user = s.queries[next % s.queries.size()].user_id;
    const std::string& item = s.similar_ids[next % s.similar_ids.size()];
    const auto start = Clock::now();
    auto found = s.model->PredictRating(Prediction(user, item), limits, policy);
    micros.push_back(SecondsSince(start) * 1e6);
    if (!found.ok()) {
      state.SkipWithError(std::string(found.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(found);
    ++next;
  }
  ReportLatency(state, std::move(micros));
  state.counters["items"] = snapshot.num_items();
}
BENCHMARK(BM_PredictRating)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// ---- Request-time personalization (snapshots that can fold in).

bool FoldInOk(benchmark::State& state) {
  if (!SetupOk(state)) return false;
  if (GetSetup().model->snapshot().fold_in() == nullptr) {
    state.SkipWithError("the snapshot cannot fold users in");
    return false;
  }
  return true;
}

// `count` recent interactions for request t: popular-skewed items (as the
// seen lists), rated 1..5.
std::vector<RecentInteraction> RecentFor(const Snapshot& snapshot, int64_t t,
                                         int32_t count) {
  RandomStream rng(kSeed, kRecentStream, static_cast<uint64_t>(t));
  std::vector<RecentInteraction> recent;
  recent.reserve(count);
  for (int32_t j = 0; j < count; ++j) {
    const double x = rng.Uniform();
    const auto item = std::min<int32_t>(
        snapshot.num_items() - 1,
        static_cast<int32_t>(snapshot.num_items() * x * x * x));
    recent.push_back({snapshot.ItemId(item),
                      static_cast<double>(1 + rng.Next() % 5), 0.0, ""});
  }
  return recent;
}

// The fold-in step alone: one user from `count` interactions (both models),
// what `recent` adds to a Recommend before retrieval.
void BM_FoldIn(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  const Snapshot& snapshot = GetSetup().model->snapshot();
  static const UserFoldIn* const fold_in = new UserFoldIn(
      snapshot.item_factors(), snapshot.item_bias(), snapshot.global_mean(),
      snapshot.item_embeddings(), *snapshot.fold_in());
  const auto count = static_cast<int32_t>(state.range(0));
  std::vector<std::vector<UserInteraction>> inputs(64);
  for (size_t t = 0; t < inputs.size(); ++t) {
    for (const RecentInteraction& x : RecentFor(snapshot, t, count)) {
      inputs[t].push_back(
          {snapshot.FindItem(x.item_id), static_cast<float>(x.rating), 1.0f});
    }
  }
  std::vector<double> micros;
  size_t next = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    FoldedInUser user = fold_in->FoldIn(inputs[next]);
    micros.push_back(SecondsSince(start) * 1e6);
    benchmark::DoNotOptimize(user);
    next = (next + 1) % inputs.size();
  }
  ReportLatency(state, std::move(micros));
}
BENCHMARK(BM_FoldIn)
    ->ArgName("recent")
    ->Arg(10)
    ->Arg(100)
    ->Arg(500)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Top-kN overlap of `query` against the same query with exact retrieval.
double RecallAgainstExact(const ServingModel& model,
                          const std::vector<RecommendQuery>& queries) {
  int64_t hits = 0, total = 0;
  for (RecommendQuery q : queries) {
    auto found = model.Recommend(q, ServingLimits(), ServingPolicy());
    q.exact = true;
    auto exact = model.Recommend(q, ServingLimits(), ServingPolicy());
    if (!found.ok() || !exact.ok()) return -1.0;
    absl::flat_hash_set<int32_t> truth;
    for (const RecommendedItem& r : exact->items) truth.insert(r.item);
    for (const RecommendedItem& r : found->items) hits += truth.count(r.item);
    total += static_cast<int64_t>(exact->items.size());
  }
  return total > 0 ? static_cast<double>(hits) / total : 1.0;
}

// Times Recommend over `queries` round robin; p50/p99 and recall@10 against
// exact retrieval of the same queries (the first kTruthQueries/4).
void RunQueries(benchmark::State& state,
                const std::vector<RecommendQuery>& queries,
                const ServingLimits& limits = ServingLimits()) {
  const ServingModel& model = *GetSetup().model;
  std::vector<double> micros;
  size_t next = 0;
  int64_t scanned = 0, hnsw = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto found = model.Recommend(queries[next], limits, ServingPolicy());
    micros.push_back(SecondsSince(start) * 1e6);
    if (!found.ok()) {
      state.SkipWithError(std::string(found.status().message()).c_str());
      return;
    }
    scanned += found->items_scanned;
    hnsw += found->retrieval_path == RetrievalPath::kHnswMerge;
    benchmark::DoNotOptimize(found);
    next = (next + 1) % queries.size();
  }
  const double calls = std::max<double>(1.0, micros.size());
  ReportLatency(state, std::move(micros));
  state.counters["items_scanned"] = scanned / calls;
  state.counters["hnsw_share"] = hnsw / calls;
  const std::vector<RecommendQuery> truth(
      queries.begin(),
      queries.begin() + std::min<size_t>(queries.size(), kTruthQueries / 4));
  state.counters["recall_at_10"] = RecallAgainstExact(model, truth);
}

// Users the snapshot does not know, each with `recent` interactions.
void BM_RecommendFoldIn(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  const Snapshot& snapshot = GetSetup().model->snapshot();
  std::vector<RecommendQuery> queries(kTruthQueries);
  for (int64_t t = 0; t < kTruthQueries; ++t) {
    queries[t].user_id = absl::StrCat("new-user-", t);
    queries[t].n = kN;
    queries[t].recent =
        RecentFor(snapshot, t, static_cast<int32_t>(state.range(0)));
  }
  RunQueries(state, queries);
}
BENCHMARK(BM_RecommendFoldIn)
    ->ArgName("recent")
    ->Arg(100)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

std::vector<RecommendQuery> KnownUserQueries(const ItemFilterSpec& filter,
                                             bool explain) {
  const Setup& s = GetSetup();
  std::vector<RecommendQuery> queries;
  for (const int32_t user : s.truth_users) {
    RecommendQuery q = s.queries[user];
    q.filter = filter;
    q.explain = explain;
    queries.push_back(std::move(q));
  }
  return queries;
}

// Known users, include_labels = {"share<per mille>"}: about 50%, 5% and
// 0.1% of the catalog allowed. Compare p50 with BM_RecommendUnfiltered.
void BM_RecommendFiltered(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  ItemFilterSpec filter;
  filter.include_labels = {absl::StrCat("share", state.range(0))};
  RunQueries(state, KnownUserQueries(filter, false));
}
BENCHMARK(BM_RecommendFiltered)
    ->ArgName("per_mille")
    ->Arg(500)
    ->Arg(200)
    ->Arg(50)
    ->Arg(1)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The same users without a filter, measured in the same run.
void BM_RecommendUnfiltered(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  RunQueries(state, KnownUserQueries({}, false));
}
BENCHMARK(BM_RecommendUnfiltered)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Excluding the 50% label: the filter lets most items through and the
// norm-ordered scan skips the rest.
void BM_RecommendExcluding(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  ItemFilterSpec filter;
  filter.exclude_labels = {"share500"};
  RunQueries(state, KnownUserQueries(filter, false));
}
BENCHMARK(BM_RecommendExcluding)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// Where kExactAllowedItems sits: a label of exactly `size` items (scored one
// by one up to kExactAllowedItems, by its norm-ordered list above) beside an
// allow-list of the same items (always scored one by one).
void RunSizedFilter(benchmark::State& state, bool allow_list) {
  if (!FoldInOk(state)) return;
  const Snapshot& snapshot = GetSetup().model->snapshot();
  const auto size = static_cast<int32_t>(state.range(0));
  ItemFilterSpec filter;
  if (allow_list) {
    const int32_t label = snapshot.FindLabel(absl::StrCat("size", size));
    for (int32_t i = 0; i < snapshot.num_items() && label != kUnknownIndex;
         ++i) {
      const absl::Span<const int32_t> labels = snapshot.ItemLabels(i);
      if (std::binary_search(labels.begin(), labels.end(), label)) {
        filter.item_ids.push_back(snapshot.ItemId(i));
      }
    }
  } else {
    filter.include_labels = {absl::StrCat("size", size)};
  }
  ServingLimits limits;
  limits.max_filter_items = std::max(limits.max_filter_items, 2 * size);
  RunQueries(state, KnownUserQueries(filter, false), limits);
}
void BM_RecommendLabelOfSize(benchmark::State& state) {
  RunSizedFilter(state, false);
}
void BM_RecommendAllowListOfSize(benchmark::State& state) {
  RunSizedFilter(state, true);
}
BENCHMARK(BM_RecommendLabelOfSize)
    ->ArgName("items")
    ->Arg(1024)
    ->Arg(2048)
    ->Arg(4096)
    ->Arg(8192)
    ->Arg(16384)
    ->MinTime(0.5)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_RecommendAllowListOfSize)
    ->ArgName("items")
    ->Arg(1024)
    ->Arg(2048)
    ->Arg(4096)
    ->Arg(8192)
    ->Arg(16384)
    ->MinTime(0.5)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// SimilarItems with include_labels = {"share<per mille>"}; recall@10
// against the filtered brute force. Compare p50 with BM_SimilarItems.
void BM_SimilarItemsFiltered(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  const Setup& s = GetSetup();
  const ServingModel& model = *s.model;
  std::vector<SimilarItemsQuery> queries;
  for (const int32_t item : s.truth_items) {
    SimilarItemsQuery q = SimilarTo(model.snapshot().ItemId(item), kN);
    q.filter.include_labels = {absl::StrCat("share", state.range(0))};
    queries.push_back(std::move(q));
  }
  std::vector<double> micros;
  size_t next = 0;
  for (auto _ : state) {
    const auto start = Clock::now();
    auto found =
        model.SimilarItems(queries[next], ServingLimits(), ServingPolicy());
    micros.push_back(SecondsSince(start) * 1e6);
    if (!found.ok()) {
      state.SkipWithError(std::string(found.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(found);
    next = (next + 1) % queries.size();
  }
  ReportLatency(state, std::move(micros));
  // Recall against cosine brute force over the allowed items.
  const Eigen::Map<const FactorMatrix> items = model.item_vectors();
  const Snapshot& snapshot = model.snapshot();
  const int32_t label =
      snapshot.FindLabel(absl::StrCat("share", state.range(0)));
  std::vector<int32_t> allowed;
  for (int32_t i = 0; i < snapshot.num_items(); ++i) {
    const absl::Span<const int32_t> labels = snapshot.ItemLabels(i);
    if (std::binary_search(labels.begin(), labels.end(), label)) {
      allowed.push_back(i);
    }
  }
  int64_t hits = 0, total = 0;
  for (size_t t = 0; t < s.truth_items.size(); ++t) {
    const int32_t item = s.truth_items[t];
    std::vector<int32_t> rows;
    for (const int32_t i : allowed) {
      if (i != item) rows.push_back(i);
    }
    absl::flat_hash_set<int32_t> truth;
    for (const ScoredItem& n : ExactNeighborsAmong(
             items, IndexSpace::kCosine,
             absl::Span<const float>(items.row(item).data(), items.cols()),
             rows, kN)) {
      truth.insert(n.item);
    }
    auto found =
        model.SimilarItems(queries[t], ServingLimits(), ServingPolicy());
    if (!found.ok()) continue;
    for (const SimilarItem& x : found->items) hits += truth.count(x.item);
    total += static_cast<int64_t>(truth.size());
  }
  state.counters["recall_at_10"] =
      total > 0 ? static_cast<double>(hits) / total : 1.0;
}
BENCHMARK(BM_SimilarItemsFiltered)
    ->ArgName("per_mille")
    ->Arg(500)
    ->Arg(50)
    ->Arg(1)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// explain: true for known users; compare with BM_RecommendUnfiltered.
void BM_RecommendExplained(benchmark::State& state) {
  if (!FoldInOk(state)) return;
  RunQueries(state, KnownUserQueries({}, true));
}
BENCHMARK(BM_RecommendExplained)
    ->MinTime(1.0)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The one-line summary, then the temporary folder removed.
void Finish() {
  Setup* s = SetupSlot();
  if (s == nullptr) return;
  if (s->status.ok()) {
    std::fprintf(
        stderr,
        "serving_bench: %d items x %d dims, %d users: index build %.1f s "
        "(both indexes), reload %.2f s; recall@10 at defaults: Recommend "
        "%.4f, SimilarItems %.4f\n",
        s->num_items, s->dims, s->num_users, s->first_load.index_seconds,
        s->second_load_seconds, s->default_recall, s->default_similar_recall);
  } else {
    std::fprintf(stderr, "serving_bench: setup failed: %s\n",
                 std::string(s->status.message()).c_str());
  }
  for (const auto* report : {&s->first_load, &s->second_load}) {
    for (const std::string& warning : report->warnings) {
      std::fprintf(stderr, "serving_bench: load warning: %s\n",
                   warning.c_str());
    }
  }
  const char* keep = std::getenv("RECSERVE_BENCH_SERVING_KEEP");
  if (keep != nullptr && s->status.ok() &&
      std::getenv("RECSERVE_BENCH_SERVING_SNAPSHOT") == nullptr) {
    std::error_code error;
    std::filesystem::rename(s->root + "/snapshots", keep, error);
    std::fprintf(stderr, "serving_bench: snapshots %s %s%s\n",
                 error ? "not kept in" : "kept in", keep,
                 error ? (": " + error.message()).c_str() : "");
  }
  if (!s->root.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(s->root, ignored);
  }
}

}  // namespace
}  // namespace recserve

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  recserve::Finish();
  return 0;
}
