#include "core/synthetic/synthetic_generator.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "core/base/parallel_for.h"
#include "core/base/status_macros.h"
#include "core/synthetic/synthetic_catalog.h"
#include "core/synthetic/synthetic_events.h"
#include "core/synthetic/synthetic_exposure.h"
#include "core/synthetic/synthetic_oracle.h"
#include "core/synthetic/synthetic_rng.h"
#include "nlohmann/json.hpp"

namespace recserve {
namespace {

using synthetic::BuildItems;
using synthetic::EventLine;
using synthetic::EventType;
using synthetic::ExposureSampler;
using synthetic::GenreName;
using synthetic::ItemModel;
using synthetic::Rng;

// The hidden model's magnitudes, with the item side's in
// core/synthetic/synthetic_catalog.h. With σ = 0.5 they give ratings with mean
// ≈ 3.5 and sd ≈ 1.03, like MovieLens (μ sits above 3.5 because clamping at 5
// cuts the upper tail). Of the noise-free score's variance (≈ 0.97) the biases
// carry ≈ 0.45 and the taste term ≈ 0.52.
constexpr double kGlobalMean = 3.62;
// Users who rate what they like rate higher: lowering μ by this much per
// unit of exposure_taste keeps the observed mean near MovieLens' 3.5.
constexpr double kMeanShiftPerExposureTaste = 0.163;

double GlobalMean(const GeneratorOptions& o) {
  return kGlobalMean - kMeanShiftPerExposureTaste * o.exposure_taste;
}
constexpr double kUserBiasSd = 0.50;
constexpr double kTasteSd = 0.72;  // sd of p_u · q_i; every q_i has norm 1.

// Activity: ratings beyond the minimum are shared out in proportion to
// Lomax (Pareto II) weights with this tail index.
constexpr double kActivityTailIndex = 1.6;

constexpr int64_t kFirstTimestamp = 788918400;  // 1995-01-01 00:00 UTC
constexpr int64_t kLastTimestamp = 1703980799;  // 2023-12-30 23:59 UTC
constexpr double kMedianActivitySeconds = 3 * 86400.0;
constexpr double kActivityLogSd = 2.5;
constexpr int64_t kMinSecondsPerRating = 20;

constexpr int32_t kUsersPerChunk = 512;  // Fixed: output must not vary.

// Ratings per user: the minimum each, plus the rest shared in proportion to
// Lomax weights, capped at ceil(items / 2) (the overflow of capped users is
// shared among the others), rounded systematically so the total is exact.
std::vector<int32_t> AllocateUserCounts(const GeneratorOptions& options) {
  const int32_t n = options.users;
  const int32_t min = kSyntheticMinRatingsPerUser;
  const int32_t cap = (options.items + 1) / 2;
  std::vector<double> weight(n);
  for (int32_t u = 0; u < n; ++u) {
    Rng rng(options.seed, synthetic::kActivityStream, u);
    // A power-law tail, with many users near the minimum.
    weight[u] =
        std::max(1e-12, std::expm1(rng.Exponential() / kActivityTailIndex));
  }
  std::vector<int32_t> counts(n, min);
  std::vector<bool> capped(n, cap <= min);
  int64_t remaining = options.ratings - int64_t{n} * min;
  for (bool changed = true; changed;) {
    changed = false;
    double total = 0.0;
    for (int32_t u = 0; u < n; ++u) total += capped[u] ? 0.0 : weight[u];
    int64_t newly = 0;
    for (int32_t u = 0; u < n; ++u) {
      // The margin keeps rounding below from pushing anyone over the cap.
      if (!capped[u] && min + remaining * weight[u] / total >= cap - 1e-6) {
        capped[u] = changed = true;
        counts[u] = cap;
        newly += cap - min;
      }
    }
    remaining -= newly;
  }
  double total = 0.0;
  for (int32_t u = 0; u < n; ++u) total += capped[u] ? 0.0 : weight[u];
  double prefix = 0.0;
  int64_t assigned = 0;
  for (int32_t u = 0; u < n; ++u) {
    if (capped[u]) continue;
    prefix += weight[u];
    const int64_t upto = std::llround(remaining * (prefix / total));
    counts[u] += static_cast<int32_t>(upto - assigned);
    assigned = upto;
  }
  return counts;
}

// User `user`'s taste: writes p_u to p[0, latent_factors) and returns b_u.
double DrawUserTaste(const GeneratorOptions& options, int32_t user, double* p) {
  Rng taste(options.seed, synthetic::kUserTasteStream, user);
  const double user_bias = kUserBiasSd * taste.Normal();
  for (int32_t d = 0; d < options.latent_factors; ++d) {
    p[d] = kTasteSd * taste.Normal();
  }
  return user_bias;
}

struct ChunkStats {
  int64_t count = 0;  // ratings, or (user, item) pairs in events mode
  double sum = 0.0, sum_squares = 0.0, squared_error = 0.0;
  std::array<int64_t, 11> histogram{};  // Index = rating in half stars.
  // Events mode: lines per EventType, summed view counts, disliked pairs.
  std::array<int64_t, synthetic::kEventTypes> event_lines{};
  int64_t views = 0, disliked = 0;

  void Add(const ChunkStats& other) {
    count += other.count;
    for (size_t t = 0; t < event_lines.size(); ++t) {
      event_lines[t] += other.event_lines[t];
    }
    views += other.views;
    disliked += other.disliked;
    sum += other.sum;
    sum_squares += other.sum_squares;
    squared_error += other.squared_error;
    for (size_t h = 0; h < histogram.size(); ++h) {
      histogram[h] += other.histogram[h];
    }
  }
};

struct Chunk {
  std::string text;
  ChunkStats stats;
};

struct Model {
  const GeneratorOptions& options;
  const ItemModel& items;
  const std::vector<int32_t>& counts;
};

// Appends one user's event lines, sorted by timestamp (stable), to `chunk`.
void AppendEvents(int32_t user, std::vector<EventLine>& lines, Chunk* chunk) {
  std::stable_sort(lines.begin(), lines.end(),
                   [](const EventLine& a, const EventLine& b) {
                     return a.timestamp < b.timestamp;
                   });
  ChunkStats& stats = chunk->stats;
  char line[128];
  for (const EventLine& e : lines) {
    ++stats.event_lines[static_cast<int>(e.type)];
    if (e.type == EventType::kView) stats.views += e.count;
    if (e.type == EventType::kDislike) ++stats.disliked;
    char* end = line + sizeof(line);
    char* c = std::to_chars(line, end, user + 1).ptr;
    *c++ = ',';
    c = std::to_chars(c, end, e.item + 1).ptr;
    *c++ = ',';
    const absl::string_view name = synthetic::EventTypeName(e.type);
    c = std::copy(name.begin(), name.end(), c);
    *c++ = ',';
    c = std::to_chars(c, end, e.count).ptr;
    *c++ = ',';
    c = std::to_chars(c, end, e.timestamp).ptr;
    *c++ = '\n';
    chunk->text.append(line, c);
  }
}

// Appends one user's rows to `chunk`: taste, exposure, then ratings in time
// order (or, in events mode, the events of each exposed item).
void GenerateUser(const Model& m, int32_t user, ExposureSampler& exposure,
                  std::vector<int32_t>& rated, std::vector<int64_t>& times,
                  std::vector<EventLine>& events, Chunk* chunk) {
  const int32_t k = m.options.latent_factors;
  const int32_t count = m.counts[user];
  std::array<double, 256> p;
  const double user_bias = DrawUserTaste(m.options, user, p.data());

  Rng exposure_rng(m.options.seed, synthetic::kExposureStream, user);
  // Missing not at random: a user mostly rates what they expect to like.
  // Acceptance exp(β (p·q − |p|)) is 1 for the best-matching direction
  // (every q has norm 1) and exp(−2β|p|) for the opposite one.
  double p_norm = 0.0;
  for (int32_t d = 0; d < k; ++d) p_norm += p[d] * p[d];
  p_norm = std::sqrt(p_norm);
  const auto acceptance = [&](int32_t item) {
    const double* q = &m.items.factors[static_cast<size_t>(item) * k];
    double dot = 0.0;
    for (int32_t d = 0; d < k; ++d) dot += p[d] * q[d];
    return std::exp(m.options.exposure_taste * (dot - p_norm));
  };
  exposure.SampleRatedItems(user, count, exposure_rng, acceptance, &rated);

  Rng rng(m.options.seed, synthetic::kRatingStream, user);
  // Ratings are given in the order drawn: successive sampling takes popular
  // (and, with exposure_taste, well-liked) items first, as MovieLens users
  // rate the well-known films it shows them first and niche ones later.
  // This is what makes "the latest rating" hard to guess from popularity.
  const double span = static_cast<double>(kLastTimestamp - kFirstTimestamp);
  double duration =
      kMedianActivitySeconds * std::exp(kActivityLogSd * rng.Normal());
  duration = std::min(span, std::max(duration, static_cast<double>(count) *
                                                   kMinSecondsPerRating));
  const double start = kFirstTimestamp + rng.Uniform() * (span - duration);
  times.resize(count);
  for (int64_t& t : times) {
    t = static_cast<int64_t>(start + rng.Uniform() * duration);
  }
  std::sort(times.begin(), times.end());
  for (int32_t j = 1; j < count; ++j) {
    times[j] = std::max(times[j], times[j - 1] + 1);
  }

  ChunkStats& stats = chunk->stats;
  char line[96];
  // Events mode draws from its own stream, so that exposures, times and
  // likings are the rating mode's.
  Rng event_rng(m.options.seed, synthetic::kEventStream, user);
  events.clear();
  for (int32_t j = 0; j < count; ++j) {
    const int32_t item = rated[j];
    const double* q = &m.items.factors[static_cast<size_t>(item) * k];
    double score = GlobalMean(m.options) + user_bias + m.items.bias[item];
    for (int32_t d = 0; d < k; ++d) score += p[d] * q[d];
    const double noisy = score + m.options.noise * rng.Normal();
    if (m.options.events) {
      ++stats.count;
      synthetic::DrawPairEvents(noisy, item, times[j], event_rng, &events);
      continue;
    }
    const int half_stars =
        static_cast<int>(std::clamp(std::round(2.0 * noisy), 1.0, 10.0));
    const double rating = 0.5 * half_stars;
    const double error = rating - std::clamp(score, 0.5, 5.0);
    ++stats.count;
    stats.sum += rating;
    stats.sum_squares += rating * rating;
    stats.squared_error += error * error;
    ++stats.histogram[half_stars];

    char* end = line + sizeof(line);
    char* c = std::to_chars(line, end, user + 1).ptr;
    *c++ = ',';
    c = std::to_chars(c, end, item + 1).ptr;
    *c++ = ',';
    c = std::to_chars(c, end, half_stars / 2).ptr;
    *c++ = '.';
    *c++ = half_stars % 2 ? '5' : '0';
    *c++ = ',';
    c = std::to_chars(c, end, times[j]).ptr;
    *c++ = '\n';
    chunk->text.append(line, c);
  }
  if (m.options.events) AppendEvents(user, events, chunk);
}

// Writes to `path + ".tmp"` and renames it to `path` on Commit(); removes
// the temporary file if destroyed before that.
class AtomicFileWriter final {
 public:
  static absl::StatusOr<std::unique_ptr<AtomicFileWriter>> Open(
      const std::string& path) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", tmp));
    }
    return std::unique_ptr<AtomicFileWriter>(
        new AtomicFileWriter(path, tmp, f));
  }
  ~AtomicFileWriter() {
    if (file_ != nullptr) std::fclose(file_);
    if (!committed_) std::remove(tmp_.c_str());
  }
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  absl::Status Append(absl::string_view data) {
    if (std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", tmp_));
    }
    return absl::OkStatus();
  }
  // Finishes writing the temporary file, which may then be read back at
  // tmp_path(); no more Append.
  absl::Status Close() {
    if (file_ == nullptr) return absl::OkStatus();
    const int close_result = std::fclose(file_);
    file_ = nullptr;
    if (close_result != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", tmp_));
    }
    return absl::OkStatus();
  }
  const std::string& tmp_path() const { return tmp_; }
  absl::Status Commit() {
    RETURN_IF_ERROR(Close());
    if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("cannot rename ", tmp_, " to ", path_));
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  AtomicFileWriter(std::string path, std::string tmp, std::FILE* file)
      : path_(std::move(path)), tmp_(std::move(tmp)), file_(file) {}
  std::string path_, tmp_;
  std::FILE* file_;
  bool committed_ = false;
};

absl::Status WriteWholeFile(const std::string& path, absl::string_view data) {
  ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::Open(path));
  RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit();
}

// RFC 4180: quoted (with quotes doubled) if it holds , " CR or LF.
void AppendCsvField(absl::string_view field, std::string* out) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    out->append(field.data(), field.size());
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string MoviesCsv(const ItemModel& items) {
  std::string out = "movieId,title,genres\n";
  for (size_t i = 0; i < items.titles.size(); ++i) {
    absl::StrAppend(&out, i + 1, ",");
    AppendCsvField(items.titles[i], &out);
    out.push_back(',');
    AppendCsvField(items.genres[i], &out);
    out.push_back('\n');
  }
  return out;
}

// Runs generate(chunk, worker, &out) for chunks [0, num_chunks) on `threads`
// workers and consume(out) on the calling thread in chunk order. At most
// 2 * threads chunks are in memory. Stops at the first consume error.
// std::mutex rather than absl::Mutex: Debian's Abseil is built without
// ThreadSanitizer annotations, so TSan could not see absl::Mutex's ordering.
absl::Status GenerateInOrder(
    int64_t num_chunks, int32_t threads,
    const std::function<void(int64_t, int32_t, Chunk*)>& generate,
    const std::function<absl::Status(const Chunk&)>& consume) {
  const int64_t window = 2 * int64_t{threads};
  std::mutex mu;
  std::condition_variable changed;
  std::vector<Chunk> slots(window);
  std::vector<bool> ready(window, false);
  int64_t next = 0, consumed = 0;
  bool stop = false;
  auto work = [&](int32_t worker) {
    for (;;) {
      int64_t c;
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] {
          return stop || next >= num_chunks || next < consumed + window;
        });
        if (stop || next >= num_chunks) return;
        c = next++;
      }
      Chunk chunk;
      generate(c, worker, &chunk);
      {
        std::lock_guard lock(mu);
        slots[c % window] = std::move(chunk);
        ready[c % window] = true;
      }
      changed.notify_all();
    }
  };
  std::vector<std::thread> workers;
  absl::Status status;
  try {
    for (int32_t w = 0; w < threads; ++w) workers.emplace_back(work, w);
  } catch (const std::system_error& e) {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    changed.notify_all();
    status = absl::ResourceExhaustedError(
        absl::StrCat("cannot start a worker thread: ", e.what()));
  }
  for (int64_t c = 0; c < num_chunks && status.ok(); ++c) {
    Chunk chunk;
    {
      std::unique_lock lock(mu);
      changed.wait(lock, [&] { return static_cast<bool>(ready[c % window]); });
      chunk = std::move(slots[c % window]);
      ready[c % window] = false;
    }
    status = consume(chunk);
    {
      std::lock_guard lock(mu);
      consumed = c + 1;
      if (!status.ok()) stop = true;
    }
    changed.notify_all();
  }
  for (std::thread& t : workers) t.join();
  return status;
}

absl::Status Validate(const GeneratorOptions& o) {
  auto invalid = [](auto... parts) {
    return absl::InvalidArgumentError(absl::StrCat(parts...));
  };
  if (o.out.empty() || !std::filesystem::path(o.out).has_filename()) {
    return invalid("out: a ratings file path is required, got \"", o.out, "\"");
  }
  if (std::filesystem::path(o.out).filename() == "movies.csv") {
    return invalid("out: must not be named movies.csv (written beside it)");
  }
  if (o.users < 1) return invalid("users must be >= 1, got ", o.users);
  if (o.items < 1) return invalid("items must be >= 1, got ", o.items);
  if (o.latent_factors < 1 || o.latent_factors > 256) {
    return invalid("latent_factors must be in [1, 256], got ",
                   o.latent_factors);
  }
  if (o.genres < 1 || o.genres > 256) {
    return invalid("genres must be in [1, 256], got ", o.genres);
  }
  if (!(o.exposure_taste >= 0) || !std::isfinite(o.exposure_taste)) {
    return invalid("exposure_taste must be >= 0, got ", o.exposure_taste);
  }
  if (!std::isfinite(o.noise) || o.noise < 0) {
    return invalid("noise must be finite and >= 0, got ", o.noise);
  }
  if (o.threads < 0) return invalid("threads must be >= 0, got ", o.threads);
  const int64_t pairs = int64_t{o.users} * o.items;
  if (o.ratings > pairs) {
    return invalid("ratings (", o.ratings, ") exceeds users * items (", pairs,
                   "): no duplicate pairs are written");
  }
  if (o.ratings > pairs / 2) {
    return invalid("ratings (", o.ratings, ") is too dense: at most half of ",
                   "users * items (", pairs / 2, ") can be sampled");
  }
  const int64_t min = int64_t{kSyntheticMinRatingsPerUser} * o.users;
  if (o.ratings < min) {
    return invalid("ratings (", o.ratings, ") is below ",
                   kSyntheticMinRatingsPerUser, " per user (", min, ")");
  }
  return absl::OkStatus();
}

nlohmann::json TruthJson(const GeneratorOptions& o, const ChunkStats& s,
                         const std::string& ratings_file, double rmse) {
  const double n = static_cast<double>(s.count);
  const double mean = s.sum / n;
  nlohmann::json histogram = nlohmann::json::object();
  for (int h = 1; h <= 10; ++h) {
    histogram[absl::StrCat(h / 2, ".", h % 2 ? "5" : "0")] = s.histogram[h];
  }
  nlohmann::json genres = nlohmann::json::array();
  for (int32_t g = 0; g < o.genres; ++g) genres.push_back(GenreName(g));
  return {
      {"generator", "recserve synthetic MovieLens-like generator"},
      {"generator_version", kSyntheticGeneratorVersion},
      {"options",
       {{"users", o.users},
        {"items", o.items},
        {"ratings", o.ratings},
        {"noise", o.noise},
        {"seed", o.seed},
        {"latent_factors", o.latent_factors},
        {"genre_count", o.genres}}},
      {"files", {{"ratings", ratings_file}, {"movies", "movies.csv"}}},
      {"counts",
       {{"users", o.users}, {"items", o.items}, {"ratings", s.count}}},
      {"global_mean", GlobalMean(o)},
      {"latent_factors", o.latent_factors},
      {"model",
       {{"user_bias_sd", kUserBiasSd},
        {"item_bias_sd", synthetic::kItemBiasSd},
        {"popularity_bias_correlation", synthetic::kPopularityBiasCorrelation},
        {"taste_sd", kTasteSd},
        {"exposure_taste", o.exposure_taste},
        {"zipf_exponent", synthetic::kZipfExponent},
        {"zipf_offset",
         synthetic::kZipfOffset + synthetic::kZipfOffsetPerItem * o.items},
        {"activity_tail_index", kActivityTailIndex},
        {"min_ratings_per_user", kSyntheticMinRatingsPerUser},
        {"max_ratings_per_user", (o.items + 1) / 2},
        {"genres", genres}}},
      {"observed",
       {{"mean", mean},
        {"stddev", std::sqrt(std::max(0.0, s.sum_squares / n - mean * mean))},
        {"histogram", histogram}}},
      {"noise_floor_rmse", rmse},
  };
}

// The truth of an events file: TruthJson's options, catalog and model
// sections, with the event counts and the event model instead of the rating
// distribution.
nlohmann::json EventsTruthJson(const GeneratorOptions& o, const ChunkStats& s,
                               const std::string& events_file) {
  nlohmann::json truth = TruthJson(o, s, events_file, 0.0);
  truth.erase("observed");
  truth.erase("noise_floor_rmse");
  truth["options"]["events"] = true;
  truth["files"] = {{"events", events_file}, {"movies", "movies.csv"}};
  nlohmann::json lines = nlohmann::json::object();
  int64_t total_lines = 0;
  for (int t = 0; t < synthetic::kEventTypes; ++t) {
    lines[synthetic::EventTypeName(static_cast<EventType>(t))] =
        s.event_lines[t];
    total_lines += s.event_lines[t];
  }
  truth["counts"] = {{"users", o.users},
                     {"items", o.items},
                     {"pairs", s.count},
                     {"lines", total_lines},
                     {"event_lines", lines},
                     {"views", s.views},
                     {"disliked_pairs", s.disliked}};
  truth["events"] = {
      {"header", synthetic::kEventsHeader},
      {"read_as",
       {{"format", "generic"},
        {"columns", synthetic::kEventsColumns},
        {"feedback", "implicit"},
        {"event_weights", synthetic::kEventWeights},
        {"negative_events", synthetic::kNegativeEvents}}},
      {"liking", "s_ui + noise * N(0, 1), the rating mode's unrounded rating"},
      {"model",
       {{"dislike_below", synthetic::kDislikeBelow},
        {"dislike_probability", synthetic::kDislikeProbability},
        {"view_slope", synthetic::kViewSlope},
        {"view_pivot", synthetic::kViewPivot},
        {"view_log_sd", synthetic::kViewLogSd},
        {"revisit_probability", synthetic::kRevisitProbability},
        {"cart_max", synthetic::kCartMax},
        {"cart_slope", synthetic::kCartSlope},
        {"cart_pivot", synthetic::kCartPivot},
        {"purchase_max", synthetic::kPurchaseMax},
        {"purchase_slope", synthetic::kPurchaseSlope},
        {"purchase_pivot", synthetic::kPurchasePivot}}},
  };
  return truth;
}

}  // namespace

absl::StatusOr<GeneratorReport> GenerateSyntheticData(
    const GeneratorOptions& options) {
  const absl::Time began = absl::Now();
  RETURN_IF_ERROR(Validate(options));
  const std::filesystem::path out(options.out);
  if (out.has_parent_path()) {
    std::error_code error;
    std::filesystem::create_directories(out.parent_path(), error);
    if (error) {
      return absl::ErrnoToStatus(
          error.value(),
          absl::StrCat("cannot create directory ", out.parent_path().string()));
    }
  }
  GeneratorReport report;
  report.ratings_path = options.out;
  report.movies_path = (out.parent_path() / "movies.csv").string();
  report.truth_path = options.out + ".truth.json";

  const ItemModel items = BuildItems(options);
  const std::vector<int32_t> counts = AllocateUserCounts(options);
  const Model model{options, items, counts};
  const int64_t num_chunks =
      (options.users + kUsersPerChunk - 1) / kUsersPerChunk;
  const int32_t threads = static_cast<int32_t>(
      std::min<int64_t>(ResolveThreads(options.threads), num_chunks));

  struct WorkerState {
    ExposureSampler exposure;
    std::vector<int32_t> rated;
    std::vector<int64_t> times;
    std::vector<EventLine> events;
  };
  std::vector<std::unique_ptr<WorkerState>> workers;
  for (int32_t w = 0; w < threads; ++w) {
    workers.push_back(std::make_unique<WorkerState>(
        WorkerState{ExposureSampler(items.popularity), {}, {}, {}}));
  }
  auto generate = [&](int64_t c, int32_t worker, Chunk* chunk) {
    WorkerState& state = *workers[worker];
    const int32_t begin = static_cast<int32_t>(c * kUsersPerChunk);
    const int32_t end = std::min(options.users, begin + kUsersPerChunk);
    int64_t rows = 0;
    for (int32_t u = begin; u < end; ++u) rows += counts[u];
    chunk->text.reserve(rows * 32);
    for (int32_t u = begin; u < end; ++u) {
      GenerateUser(model, u, state.exposure, state.rated, state.times,
                   state.events, chunk);
    }
  };

  ASSIGN_OR_RETURN(auto ratings_file, AtomicFileWriter::Open(options.out));
  RETURN_IF_ERROR(ratings_file->Append(
      options.events ? absl::StrCat(synthetic::kEventsHeader, "\n")
                     : "userId,movieId,rating,timestamp\n"));
  ChunkStats total;
  auto consume = [&](const Chunk& chunk) -> absl::Status {
    RETURN_IF_ERROR(ratings_file->Append(chunk.text));
    total.Add(chunk.stats);
    if (options.progress) options.progress(total.count, options.ratings);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(GenerateInOrder(num_chunks, threads, generate, consume));
  if (total.count != options.ratings) {
    return absl::InternalError(absl::StrCat(
        "generated ", total.count, " ratings, expected ", options.ratings));
  }
  RETURN_IF_ERROR(WriteWholeFile(report.movies_path, MoviesCsv(items)));
  report.ratings_written = total.count;
  nlohmann::json truth;
  if (options.events) {
    report.noise_floor_rmse = std::numeric_limits<double>::quiet_NaN();
    for (int t = 0; t < synthetic::kEventTypes; ++t) {
      report.event_lines += total.event_lines[t];
      report.event_type_lines[synthetic::EventTypeName(
          static_cast<EventType>(t))] = total.event_lines[t];
    }
    truth = EventsTruthJson(options, total, out.filename().string());
  } else {
    report.noise_floor_rmse =
        std::sqrt(total.squared_error / static_cast<double>(total.count));
    truth = TruthJson(options, total, out.filename().string(),
                      report.noise_floor_rmse);
  }
  // The ratings file is renamed into place last, so that its presence means
  // every file is complete; the oracle reads it back under its temporary
  // name.
  RETURN_IF_ERROR(ratings_file->Close());
  if (options.oracle_metrics) {
    const absl::Time oracle_began = absl::Now();
    synthetic::OracleModel oracle;
    oracle.items = &items;
    oracle.latent_factors = options.latent_factors;
    oracle.noise = options.noise;
    oracle.exposure_taste = options.exposure_taste;
    oracle.global_mean = GlobalMean(options);
    oracle.user_taste = [&options](int32_t user, double* p) {
      return DrawUserTaste(options, user, p);
    };
    if (options.events) {
      ASSIGN_OR_RETURN(truth["oracle"],
                       synthetic::OracleEventsJson(
                           oracle, ratings_file->tmp_path(), options.threads));
    } else {
      ASSIGN_OR_RETURN(truth["oracle"],
                       synthetic::OracleTopNJson(
                           oracle, ratings_file->tmp_path(), options.threads));
    }
    report.oracle_seconds = absl::ToDoubleSeconds(absl::Now() - oracle_began);
  }
  RETURN_IF_ERROR(WriteWholeFile(report.truth_path, truth.dump(2) + "\n"));
  RETURN_IF_ERROR(ratings_file->Commit());
  report.seconds = absl::ToDoubleSeconds(absl::Now() - began);
  return report;
}

}  // namespace recserve
