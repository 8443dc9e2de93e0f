#include "core/synthetic/synthetic_generator.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "core/data/event_weights.h"
#include "core/data/rating_reader.h"
#include "core/data/split.h"
#include "core/eval/topn_evaluation.h"
#include "core/model/item_scorer.h"
#include "core/synthetic/synthetic_oracle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testutil::ReadFile;

std::vector<std::string> Lines(const std::string& text) {
  EXPECT_TRUE(text.empty() || text.back() == '\n');
  EXPECT_EQ(text.find('\r'), std::string::npos);
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// A strict RFC 4180 record parser, independent of the one under core/.
std::vector<std::string> ParseCsvRecord(const std::string& line) {
  std::vector<std::string> fields(1);
  size_t i = 0;
  while (i <= line.size()) {
    if (i < line.size() && line[i] == '"') {
      for (++i;; ++i) {
        EXPECT_LT(i, line.size()) << "unterminated quote: " << line;
        if (i >= line.size()) return fields;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            fields.back() += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          fields.back() += line[i];
        }
      }
      EXPECT_TRUE(i == line.size() || line[i] == ',') << line;
    } else {
      while (i < line.size() && line[i] != ',') {
        EXPECT_NE(line[i], '"') << "bare quote: " << line;
        fields.back() += line[i++];
      }
    }
    if (i == line.size()) break;
    ++i;  // The comma.
    fields.emplace_back();
  }
  return fields;
}

struct Row {
  int user, item, half_stars;
  long long timestamp;
};

std::vector<Row> ParseRatings(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  EXPECT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "userId,movieId,rating,timestamp");
  std::vector<Row> rows;
  for (size_t j = 1; j < lines.size(); ++j) {
    std::vector<std::string> f = absl::StrSplit(lines[j], ',');
    EXPECT_EQ(f.size(), 4u) << lines[j];
    if (f.size() != 4) continue;
    // MovieLens writes ratings as "4.0" / "3.5".
    const std::string& r = f[2];
    EXPECT_TRUE(r.size() == 3 && r[1] == '.' && (r[2] == '0' || r[2] == '5'))
        << lines[j];
    rows.push_back({std::stoi(f[0]), std::stoi(f[1]),
                    2 * (r[0] - '0') + (r[2] == '5' ? 1 : 0),
                    std::stoll(f[3])});
  }
  return rows;
}

GeneratorOptions SmallOptions(const std::string& dir) {
  GeneratorOptions options;
  options.users = 300;
  options.items = 200;
  options.ratings = 10000;
  options.noise = 0.5;
  options.seed = 42;
  options.latent_factors = 6;
  options.out = dir + "/data/ratings.csv";
  options.threads = 2;
  return options;
}

// Gives each test a fresh temporary directory, removed afterwards.
class SyntheticGeneratorTest : public ::testing::Test {
 protected:
  testutil::TempDir tmp_;
};

TEST_F(SyntheticGeneratorTest, SameSeedGivesIdenticalBytesWhateverTheThreads) {
  // Enough users for several work chunks, so that one thread's samplers
  // carry state from chunk to chunk while three threads' do not.
  auto options = [](const std::string& dir, int32_t threads) {
    GeneratorOptions o = SmallOptions(dir);
    o.users = 1600;
    o.items = 300;
    o.ratings = 40000;
    o.threads = threads;
    return o;
  };
  testutil::TempDir other;
  const GeneratorOptions a = options(tmp_.path(), 1);
  const GeneratorOptions b = options(other.path(), 3);
  ASSERT_TRUE(GenerateSyntheticData(a).ok());
  ASSERT_TRUE(GenerateSyntheticData(b).ok());
  for (const std::string suffix :
       {"ratings.csv", "movies.csv", "ratings.csv.truth.json"}) {
    const std::string dir_a = std::filesystem::path(a.out).parent_path();
    const std::string dir_b = std::filesystem::path(b.out).parent_path();
    EXPECT_EQ(ReadFile(dir_a + "/" + suffix), ReadFile(dir_b + "/" + suffix))
        << suffix;
  }
  EXPECT_FALSE(std::filesystem::exists(a.out + ".tmp"));
}

TEST_F(SyntheticGeneratorTest, DifferentSeedGivesDifferentData) {
  testutil::TempDir other;
  GeneratorOptions a = SmallOptions(tmp_.path());
  GeneratorOptions b = SmallOptions(other.path());
  b.seed = 43;
  ASSERT_TRUE(GenerateSyntheticData(a).ok());
  ASSERT_TRUE(GenerateSyntheticData(b).ok());
  EXPECT_NE(ReadFile(a.out), ReadFile(b.out));
}

TEST_F(SyntheticGeneratorTest, RatingsFileHasExactCountsAndValidRows) {
  const GeneratorOptions options = SmallOptions(tmp_.path());
  std::vector<std::pair<int64_t, int64_t>> progress;
  GeneratorOptions with_progress = options;
  with_progress.progress = [&](int64_t done, int64_t total) {
    progress.emplace_back(done, total);
  };
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(with_progress);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ratings_written, 10000);
  EXPECT_EQ(report->ratings_path, options.out);
  EXPECT_EQ(report->truth_path, options.out + ".truth.json");
  EXPECT_EQ(std::filesystem::path(report->movies_path),
            std::filesystem::path(options.out).parent_path() / "movies.csv");
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back(), std::make_pair(int64_t{10000}, int64_t{10000}));
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  const std::vector<Row> rows = ParseRatings(ReadFile(options.out));
  ASSERT_EQ(rows.size(), 10000u);
  std::set<std::pair<int, int>> pairs;
  std::vector<int> per_user(options.users + 1, 0);
  for (size_t j = 0; j < rows.size(); ++j) {
    const Row& r = rows[j];
    ASSERT_GE(r.user, 1);
    ASSERT_LE(r.user, options.users);
    ASSERT_GE(r.item, 1);
    ASSERT_LE(r.item, options.items);
    EXPECT_GE(r.half_stars, 1);   // 0.5 stars
    EXPECT_LE(r.half_stars, 10);  // 5.0 stars
    EXPECT_TRUE(pairs.emplace(r.user, r.item).second)
        << "duplicate " << r.user << "," << r.item;
    EXPECT_GE(r.timestamp, 788918400);   // 1995-01-01
    EXPECT_LT(r.timestamp, 1704067200);  // 2024-01-01
    ++per_user[r.user];
    if (j > 0) {
      // Grouped by user in increasing id; time order within a user.
      ASSERT_GE(r.user, rows[j - 1].user);
      if (r.user == rows[j - 1].user) {
        EXPECT_GT(r.timestamp, rows[j - 1].timestamp);
      }
    }
  }
  for (int u = 1; u <= options.users; ++u) {
    EXPECT_GE(per_user[u], kSyntheticMinRatingsPerUser) << "user " << u;
    EXPECT_LE(per_user[u], (options.items + 1) / 2) << "user " << u;
  }
}

TEST_F(SyntheticGeneratorTest, PopularityAndActivityAreHeavyTailed) {
  // The popularity model alone: taste-driven exposure spreads ratings over
  // the items each user likes and would blur it.
  GeneratorOptions options = SmallOptions(tmp_.path());
  options.exposure_taste = 0;
  ASSERT_TRUE(GenerateSyntheticData(options).ok());
  const std::vector<Row> rows = ParseRatings(ReadFile(options.out));
  std::vector<int> per_item(options.items, 0), per_user(options.users, 0);
  for (const Row& r : rows) {
    ++per_item[r.item - 1];
    ++per_user[r.user - 1];
  }
  auto top_tenth_share = [](std::vector<int> counts) {
    std::sort(counts.rbegin(), counts.rend());
    long long top = 0, all = 0;
    for (size_t j = 0; j < counts.size(); ++j) {
      if (j < counts.size() / 10) top += counts[j];
      all += counts[j];
    }
    return static_cast<double>(top) / static_cast<double>(all);
  };
  // Uniform would give 0.10 for both.
  EXPECT_GT(top_tenth_share(per_item), 0.30);
  EXPECT_GT(top_tenth_share(per_user), 0.25);
}

TEST_F(SyntheticGeneratorTest, MoviesCsvParsesAndShowsTheLatentGenre) {
  const GeneratorOptions options = SmallOptions(tmp_.path());
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(report->truth_path));
  const std::vector<std::string> genre_names = truth["model"]["genres"];
  ASSERT_EQ(genre_names.size(), static_cast<size_t>(options.genres));
  const std::set<std::string> known(genre_names.begin(), genre_names.end());
  EXPECT_EQ(known.size(), static_cast<size_t>(options.genres));

  const std::vector<std::string> lines = Lines(ReadFile(report->movies_path));
  ASSERT_EQ(lines.size(), 201u);
  EXPECT_EQ(lines[0], "movieId,title,genres");
  int with_comma = 0, with_quote = 0;
  std::set<std::string> titles;
  std::map<std::string, std::vector<int>> serials;
  for (int i = 1; i <= 200; ++i) {
    const std::vector<std::string> f = ParseCsvRecord(lines[i]);
    ASSERT_EQ(f.size(), 3u) << lines[i];
    EXPECT_EQ(f[0], std::to_string(i));
    const std::string& title = f[1];
    with_comma += title.find(',') != std::string::npos;
    with_quote += title.find('"') != std::string::npos;
    EXPECT_TRUE(titles.insert(title).second) << "repeated title " << title;
    // "... (1994)"
    ASSERT_GE(title.size(), 8u);
    EXPECT_EQ(title.substr(title.size() - 7, 2), " (") << title;
    const int year = std::stoi(title.substr(title.size() - 5, 4));
    EXPECT_GE(year, 1915);
    EXPECT_LE(year, 2023);
    const std::vector<std::string> genres = absl::StrSplit(f[2], '|');
    ASSERT_GE(genres.size(), 1u);
    ASSERT_LE(genres.size(), 2u);
    for (const std::string& g : genres) EXPECT_TRUE(known.count(g)) << g;
    EXPECT_THAT(title, HasSubstr(genres[0])) << "dominant genre";
    const size_t hash = title.find('#');
    ASSERT_NE(hash, std::string::npos) << title;
    serials[genres[0]].push_back(std::stoi(title.substr(hash + 1)));
  }
  // Items are numbered 1, 2, ... within their dominant genre.
  for (auto& [genre, numbers] : serials) {
    std::sort(numbers.begin(), numbers.end());
    for (size_t j = 0; j < numbers.size(); ++j) {
      EXPECT_EQ(numbers[j], static_cast<int>(j + 1)) << genre;
    }
  }
  EXPECT_GE(with_comma, 1);
  EXPECT_GE(with_quote, 1);
  EXPECT_EQ(ParseCsvRecord(lines[2])[1].find("Operation \""), 0u);
}

TEST_F(SyntheticGeneratorTest, TruthJsonDescribesTheData) {
  const GeneratorOptions options = SmallOptions(tmp_.path());
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(report->truth_path));
  EXPECT_EQ(truth["generator_version"], kSyntheticGeneratorVersion);
  EXPECT_EQ(truth["options"]["users"], 300);
  EXPECT_EQ(truth["options"]["items"], 200);
  EXPECT_EQ(truth["options"]["ratings"], 10000);
  EXPECT_EQ(truth["options"]["seed"], 42);
  EXPECT_EQ(truth["options"]["noise"], 0.5);
  EXPECT_EQ(truth["counts"]["ratings"], 10000);
  EXPECT_EQ(truth["latent_factors"], 6);
  EXPECT_EQ(truth["files"]["ratings"], "ratings.csv");
  // μ is lowered for taste-driven exposure (users rate what they like).
  EXPECT_GT(truth["global_mean"].get<double>(), 2.8);
  EXPECT_LT(truth["global_mean"].get<double>(), 3.7);
  EXPECT_EQ(truth["noise_floor_rmse"].get<double>(), report->noise_floor_rmse);

  // Observed distribution resembles MovieLens (mean 3.53, sd 1.06), and the
  // histogram agrees with the file.
  EXPECT_NEAR(truth["observed"]["mean"].get<double>(), 3.5, 0.15);
  EXPECT_NEAR(truth["observed"]["stddev"].get<double>(), 1.05, 0.12);
  const std::vector<Row> rows = ParseRatings(ReadFile(options.out));
  std::vector<long long> histogram(11, 0);
  double sum = 0;
  for (const Row& r : rows) {
    ++histogram[r.half_stars];
    sum += 0.5 * r.half_stars;
  }
  EXPECT_NEAR(truth["observed"]["mean"].get<double>(), sum / rows.size(), 1e-9);
  EXPECT_EQ(truth["observed"]["histogram"]["4.0"], histogram[8]);
  EXPECT_EQ(truth["observed"]["histogram"]["0.5"], histogram[1]);

  // Rounding to half stars adds uniform(-0.25, 0.25) error (variance 1/48)
  // to the N(0, 0.25) noise: sqrt(0.25 + 1/48) = 0.520 before clamping,
  // which only removes error.
  EXPECT_GT(report->noise_floor_rmse, 0.46);
  EXPECT_LT(report->noise_floor_rmse, 0.53);
}

TEST_F(SyntheticGeneratorTest, NoiseFreeDataIsOffOnlyByRounding) {
  GeneratorOptions options = SmallOptions(tmp_.path());
  options.noise = 0.0;
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  // Uniform rounding error: sqrt(1/48) = 0.144; clamped scores add none.
  EXPECT_GT(report->noise_floor_rmse, 0.12);
  EXPECT_LT(report->noise_floor_rmse, 0.15);
}

TEST_F(SyntheticGeneratorTest, ManyGenresGetDistinctNames) {
  GeneratorOptions options = SmallOptions(tmp_.path());
  options.genres = 30;
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(report->truth_path));
  const std::vector<std::string> names = truth["model"]["genres"];
  ASSERT_EQ(names.size(), 30u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 30u);
  EXPECT_EQ(truth["latent_factors"], 6);
}

TEST_F(SyntheticGeneratorTest, InvalidOptionsAreRejectedWithoutWritingFiles) {
  const std::string dir = tmp_.path();
  struct Case {
    const char* name;
    void (*edit)(GeneratorOptions*);
    const char* message;
  };
  const Case cases[] = {
      {"no out", [](GeneratorOptions* o) { o->out.clear(); }, "out"},
      {"out is movies.csv",
       [](GeneratorOptions* o) { o->out = o->out + "/../movies.csv"; },
       "movies.csv"},
      {"no users", [](GeneratorOptions* o) { o->users = 0; }, "users"},
      {"no items", [](GeneratorOptions* o) { o->items = -3; }, "items"},
      {"negative noise", [](GeneratorOptions* o) { o->noise = -0.1; }, "noise"},
      {"nan noise", [](GeneratorOptions* o) { o->noise = std::nan(""); },
       "noise"},
      {"no factors", [](GeneratorOptions* o) { o->latent_factors = 0; },
       "latent_factors"},
      {"no genres", [](GeneratorOptions* o) { o->genres = 0; }, "genres"},
      {"negative exposure taste",
       [](GeneratorOptions* o) { o->exposure_taste = -1; }, "exposure_taste"},
      {"negative threads", [](GeneratorOptions* o) { o->threads = -1; },
       "threads"},
      {"more than all pairs", [](GeneratorOptions* o) { o->ratings = 60001; },
       "exceeds users * items"},
      {"too dense", [](GeneratorOptions* o) { o->ratings = 30001; },
       "too dense"},
      {"too few per user", [](GeneratorOptions* o) { o->ratings = 1499; },
       "per user"},
  };
  for (const Case& c : cases) {
    GeneratorOptions options = SmallOptions(dir);
    c.edit(&options);
    absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument)
        << c.name;
    EXPECT_THAT(report.status().message(), HasSubstr(c.message)) << c.name;
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));

  // The boundaries themselves are valid: exactly 50% dense, exactly 5/user.
  GeneratorOptions densest = SmallOptions(dir);
  densest.users = 20;
  densest.items = 30;
  densest.ratings = 300;
  EXPECT_TRUE(GenerateSyntheticData(densest).ok());
  GeneratorOptions sparsest = SmallOptions(dir);
  sparsest.ratings = 1500;
  EXPECT_TRUE(GenerateSyntheticData(sparsest).ok());
  EXPECT_EQ(ParseRatings(ReadFile(sparsest.out)).size(), 1500u);
}

TEST_F(SyntheticGeneratorTest, UnwritableOutputIsAnError) {
  const std::string dir = tmp_.path();
  testutil::WriteFile(dir + "/plain_file", "x");
  GeneratorOptions options = SmallOptions(dir);
  options.out = dir + "/plain_file/ratings.csv";
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  EXPECT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("plain_file"));
}

TEST_F(SyntheticGeneratorTest, ExposureTasteMakesUsersRateWhatTheyLike) {
  // With β > 0 users pick items they like, so the ratings they give sit
  // higher above the model's μ than with exposure by popularity alone.
  const auto lift = [](const nlohmann::json& truth) {
    return truth["observed"]["mean"].get<double>() -
           truth["global_mean"].get<double>();
  };
  GeneratorOptions options = SmallOptions(tmp_.path());
  options.exposure_taste = 0;
  auto plain = GenerateSyntheticData(options);
  ASSERT_TRUE(plain.ok()) << plain.status();
  const double plain_lift =
      lift(nlohmann::json::parse(ReadFile(plain->truth_path)));
  testutil::TempDir other;
  options = SmallOptions(other.path());
  options.exposure_taste = 2.0;
  auto tilted = GenerateSyntheticData(options);
  ASSERT_TRUE(tilted.ok()) << tilted.status();
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(tilted->truth_path));
  EXPECT_EQ(truth["model"]["exposure_taste"], 2.0);
  EXPECT_GT(lift(truth), plain_lift + 0.15);
}

constexpr const char* kOracleProtocols[] = {"random:0.1", "loo"};
constexpr const char* kOracleMetrics[] = {
    "precision@10", "recall@10", "ndcg@10", "coverage", "hr@10", "loo_ndcg@10"};

TEST_F(SyntheticGeneratorTest, TruthHasOracleMetricsForBothProtocols) {
  const GeneratorOptions options = SmallOptions(tmp_.path());
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->oracle_seconds, 0.0);
  EXPECT_LE(report->oracle_seconds, report->seconds);
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(report->truth_path));
  ASSERT_TRUE(truth.contains("oracle"));
  const nlohmann::json& oracle = truth["oracle"];
  EXPECT_EQ(oracle["k"], 10);
  EXPECT_EQ(oracle["relevance_threshold"], 4.0);
  EXPECT_EQ(oracle["loo_negatives"], 100);
  EXPECT_EQ(oracle["max_users"], 5000);
  EXPECT_EQ(oracle["seed"], 1);
  EXPECT_THAT(oracle["scorer"]["full_ranking"].get<std::string>(),
              HasSubstr("3.75"));
  EXPECT_THAT(oracle["scorer"]["leave_one_out"].get<std::string>(),
              Not(HasSubstr("3.75")));
  for (const char* protocol : kOracleProtocols) {
    ASSERT_TRUE(oracle.contains(protocol)) << protocol;
    const nlohmann::json& metrics = oracle[protocol];
    EXPECT_EQ(metrics.size(), std::size(kOracleMetrics)) << protocol;
    for (const char* key : kOracleMetrics) {
      ASSERT_TRUE(metrics.contains(key) && metrics[key].is_number())
          << protocol << " " << key;
      EXPECT_GE(metrics[key].get<double>(), 0.0) << protocol << " " << key;
      EXPECT_LE(metrics[key].get<double>(), 1.0) << protocol << " " << key;
    }
    // Far from chance: a random top 10 of 200 items hits 10 / 101 of the
    // time among 100 negatives.
    EXPECT_GT(metrics["hr@10"].get<double>(), 0.3) << protocol;
    const nlohmann::json& users = oracle["evaluated_users"][protocol];
    EXPECT_GT(users["topn_users"].get<int64_t>(), 0) << protocol;
    EXPECT_LE(users["topn_users"].get<int64_t>(), users["loo_users"]);
  }
  // Every user has at least 5 ratings, so each holds one out in "loo"; a
  // random 10% leaves some users without test ratings.
  EXPECT_EQ(oracle["evaluated_users"]["loo"]["loo_users"], options.users);
  EXPECT_LT(oracle["evaluated_users"]["random:0.1"]["loo_users"],
            options.users);
}

TEST_F(SyntheticGeneratorTest, OracleMetricsCanBeTurnedOffAndChangeNoData) {
  testutil::TempDir other;
  const GeneratorOptions with = SmallOptions(tmp_.path());
  GeneratorOptions without = SmallOptions(other.path());
  without.oracle_metrics = false;
  auto a = GenerateSyntheticData(with);
  auto b = GenerateSyntheticData(without);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->oracle_seconds, 0.0);
  EXPECT_EQ(ReadFile(a->ratings_path), ReadFile(b->ratings_path));
  EXPECT_EQ(ReadFile(a->movies_path), ReadFile(b->movies_path));
  nlohmann::json truth = nlohmann::json::parse(ReadFile(a->truth_path));
  const nlohmann::json plain = nlohmann::json::parse(ReadFile(b->truth_path));
  EXPECT_FALSE(plain.contains("oracle"));
  ASSERT_EQ(truth.erase("oracle"), 1u);
  EXPECT_EQ(truth, plain);
  EXPECT_FALSE(std::filesystem::exists(with.out + ".tmp"));
}

TEST_F(SyntheticGeneratorTest, OracleBeatsPopularityOnDefaultData) {
  GeneratorOptions options;  // β = 3, σ = 0.5
  options.users = 2000;
  options.items = 1000;
  options.ratings = 200000;
  options.seed = 2024;
  options.out = tmp_.Path("ratings.csv");
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json oracle =
      nlohmann::json::parse(ReadFile(report->truth_path))["oracle"];
  Dataset all;
  ASSERT_TRUE(ReadRatings(options.out, RatingReadOptions(), &all).ok());
  TopNOptions topn;  // k = 10, relevance 4, 100 negatives, seed 1
  topn.max_users = oracle["max_users"];
  for (const char* protocol : kOracleProtocols) {
    absl::StatusOr<SplitSpec> spec = ParseSplitSpec(protocol);
    ASSERT_TRUE(spec.ok()) << spec.status();
    absl::StatusOr<TrainTest> data = SplitDataset(all, *spec, 1);
    ASSERT_TRUE(data.ok()) << data.status();
    const PopularityScorer popularity(data->train);
    const TopNMetrics baseline =
        EvaluateTopN(popularity, data->train, data->test, topn);
    const nlohmann::json& m = oracle[protocol];
    // Measured: HR@10 0.640 vs 0.512 (random:0.1), 0.615 vs 0.480 (loo);
    // NDCG@10 0.518 vs 0.181, 0.223 vs 0.060.
    EXPECT_GT(m["hr@10"].get<double>(), 1.1 * baseline.loo_hr) << protocol;
    EXPECT_GT(m["loo_ndcg@10"].get<double>(), 1.1 * baseline.loo_ndcg)
        << protocol;
    EXPECT_GT(m["ndcg@10"].get<double>(), 2 * baseline.ndcg) << protocol;
    EXPECT_GT(m["recall@10"].get<double>(), 2 * baseline.recall) << protocol;
    EXPECT_EQ(oracle["evaluated_users"][protocol]["loo_users"],
              baseline.loo_users)
        << protocol;
  }
}

// Events mode.

struct EventRow {
  int user, item;
  std::string event;
  long long count, timestamp;
};

std::vector<EventRow> ParseEvents(const std::string& text) {
  std::vector<std::string> lines = Lines(text);
  EXPECT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "userId,movieId,event,count,timestamp");
  std::vector<EventRow> rows;
  for (size_t j = 1; j < lines.size(); ++j) {
    std::vector<std::string> f = absl::StrSplit(lines[j], ',');
    EXPECT_EQ(f.size(), 5u) << lines[j];
    if (f.size() != 5) continue;
    rows.push_back({std::stoi(f[0]), std::stoi(f[1]), f[2], std::stoll(f[3]),
                    std::stoll(f[4])});
  }
  return rows;
}

GeneratorOptions EventOptions(const std::string& dir) {
  GeneratorOptions options = SmallOptions(dir);
  options.events = true;
  options.out = dir + "/data/events.csv";
  return options;
}

RatingReadOptions EventReadOptions() {
  RatingReadOptions read;
  read.format = RatingFormat::kGeneric;
  read.generic_columns =
      "user=userId,item=movieId,event=event,count=count,timestamp=timestamp";
  read.feedback = Feedback::kImplicit;
  read.events = *ParseEventWeights("view=1,cart=4,purchase=10", "dislike");
  return read;
}

TEST_F(SyntheticGeneratorTest, EventsFollowTheRatingModesTastesAndExposures) {
  const GeneratorOptions options = EventOptions(tmp_.path());
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ratings_written, 10000);
  EXPECT_TRUE(std::isnan(report->noise_floor_rmse));
  // The same options in the rating mode: the same pairs, and the events
  // agree with the ratings.
  testutil::TempDir other;
  GeneratorOptions rating_options = SmallOptions(other.path());
  ASSERT_TRUE(GenerateSyntheticData(rating_options).ok());
  std::map<std::pair<int, int>, int> half_stars;
  for (const Row& r : ParseRatings(ReadFile(rating_options.out))) {
    half_stars[{r.user, r.item}] = r.half_stars;
  }

  const std::vector<EventRow> rows = ParseEvents(ReadFile(options.out));
  struct Pair {
    long long views = 0;
    int view_lines = 0, carts = 0, purchases = 0, dislikes = 0;
    long long first = 0, cart_time = 0, purchase_time = 0, dislike_time = 0;
  };
  std::map<std::pair<int, int>, Pair> pairs;
  std::map<std::string, int64_t> type_lines;
  for (size_t j = 0; j < rows.size(); ++j) {
    const EventRow& e = rows[j];
    ASSERT_GE(e.user, 1);
    ASSERT_LE(e.user, options.users);
    ASSERT_GE(e.item, 1);
    ASSERT_LE(e.item, options.items);
    ASSERT_GE(e.count, 1) << e.event;
    EXPECT_GE(e.timestamp, 788918400);   // 1995-01-01
    EXPECT_LT(e.timestamp, 1706745600);  // 2024-02-01
    ++type_lines[e.event];
    if (j > 0) {
      // Grouped by user in increasing id; time order within a user.
      ASSERT_GE(e.user, rows[j - 1].user);
      if (e.user == rows[j - 1].user) {
        EXPECT_GE(e.timestamp, rows[j - 1].timestamp);
      }
    }
    Pair& p = pairs[{e.user, e.item}];
    if (e.event == "view") {
      if (p.view_lines++ == 0) p.first = e.timestamp;
      p.views += e.count;
    } else if (e.event == "cart") {
      EXPECT_EQ(e.count, 1);
      ++p.carts;
      p.cart_time = e.timestamp;
    } else if (e.event == "purchase") {
      EXPECT_EQ(e.count, 1);
      ++p.purchases;
      p.purchase_time = e.timestamp;
    } else if (e.event == "dislike") {
      EXPECT_EQ(e.count, 1);
      ++p.dislikes;
      p.dislike_time = e.timestamp;
    } else {
      ADD_FAILURE() << "unknown event type " << e.event;
    }
  }
  EXPECT_EQ(report->event_lines, static_cast<int64_t>(rows.size()));
  EXPECT_EQ(report->event_type_lines, type_lines);
  ASSERT_EQ(pairs.size(), 10000u);

  int64_t carted = 0, purchased = 0, disliked = 0, multi_line = 0;
  std::vector<long long> views;
  double liked_views = 0, other_views = 0;
  int64_t liked = 0, others = 0;
  for (const auto& [key, p] : pairs) {
    ASSERT_EQ(half_stars.count(key), 1u) << key.first << "," << key.second;
    const int stars2 = half_stars[key];
    EXPECT_GE(p.view_lines, 1);  // every exposure starts with a view
    EXPECT_LE(p.view_lines, 2);
    EXPECT_LE(p.carts, 1);
    EXPECT_LE(p.purchases, p.carts);  // a purchase follows a cart
    if (p.purchases > 0) {
      EXPECT_GT(p.purchase_time, p.cart_time);
    }
    if (p.carts > 0) {
      EXPECT_GT(p.cart_time, p.first);
    }
    multi_line += p.view_lines + p.carts + p.purchases + p.dislikes > 1;
    if (p.dislikes > 0) {
      // A single view, then the dislike, for an item the user would rate
      // 2 stars or less.
      ++disliked;
      EXPECT_EQ(p.dislikes, 1);
      EXPECT_EQ(p.views, 1);
      EXPECT_EQ(p.carts, 0);
      EXPECT_GT(p.dislike_time, p.first);
      EXPECT_LE(stars2, 4);
      continue;
    }
    carted += p.carts;
    purchased += p.purchases;
    views.push_back(p.views);
    if (stars2 >= 9) {
      liked_views += p.views;
      ++liked;
    } else if (stars2 <= 6) {
      other_views += p.views;
      ++others;
    }
  }
  // Plausible shares: dislikes rare, a funnel view > cart > purchase.
  EXPECT_GT(disliked, 20);
  EXPECT_LT(disliked, 600);  // < 6% of pairs
  EXPECT_GT(carted, 800);
  EXPECT_LT(carted, 4000);
  EXPECT_GT(purchased, 200);
  EXPECT_LT(purchased, carted);
  EXPECT_GT(multi_line, 1500);
  // Views: long-tailed (median small, a long tail) and growing with taste.
  std::sort(views.begin(), views.end());
  EXPECT_LE(views[views.size() / 2], 3);
  EXPECT_GE(views.back(), 30);
  ASSERT_GT(liked, 100);
  ASSERT_GT(others, 100);
  EXPECT_GT(liked_views / liked, 2.5 * other_views / others);
}

TEST_F(SyntheticGeneratorTest, EventsAreDeterministicWhateverTheThreads) {
  testutil::TempDir other;
  GeneratorOptions a = EventOptions(tmp_.path());
  GeneratorOptions b = EventOptions(other.path());
  // Three work chunks of users.
  a.users = 1200;
  a.ratings = 24000;
  a.threads = 1;
  b.users = 1200;
  b.ratings = 24000;
  b.threads = 3;
  ASSERT_TRUE(GenerateSyntheticData(a).ok());
  ASSERT_TRUE(GenerateSyntheticData(b).ok());
  for (const std::string suffix :
       {"events.csv", "movies.csv", "events.csv.truth.json"}) {
    const std::string dir_a = std::filesystem::path(a.out).parent_path();
    const std::string dir_b = std::filesystem::path(b.out).parent_path();
    EXPECT_EQ(ReadFile(dir_a + "/" + suffix), ReadFile(dir_b + "/" + suffix))
        << suffix;
  }
  testutil::TempDir third;
  GeneratorOptions c = EventOptions(third.path());
  c.seed = 43;
  ASSERT_TRUE(GenerateSyntheticData(c).ok());
  EXPECT_NE(ReadFile(c.out), ReadFile(EventOptions(tmp_.path()).out));
}

TEST_F(SyntheticGeneratorTest, EventsReadBackAsImplicitFeedback) {
  const GeneratorOptions options = EventOptions(tmp_.path());
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(report->truth_path));
  Dataset data;
  absl::StatusOr<RatingReadReport> read =
      ReadRatings(options.out, EventReadOptions(), &data);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->feedback, Feedback::kImplicit);
  EXPECT_EQ(read->lines, report->event_lines);
  EXPECT_EQ(read->ratings, 10000);  // one cell per pair
  EXPECT_EQ(read->merged, report->event_lines - 10000);
  EXPECT_EQ(read->negative, truth["counts"]["disliked_pairs"]);
  EXPECT_EQ(read->event_lines, report->event_type_lines);
  int64_t negative = 0;
  double min_positive = 1e30;
  for (const Rating& r : data.ratings) {
    if (r.value < 0) {
      ++negative;
      EXPECT_EQ(r.value, -1.0f);  // one dislike of weight 1
    } else {
      min_positive = std::min<double>(min_positive, r.value);
    }
  }
  EXPECT_EQ(negative, read->negative);
  EXPECT_GE(min_positive, 1.0);  // at least one view
}

TEST_F(SyntheticGeneratorTest, EventsTruthJsonDescribesTheEvents) {
  const GeneratorOptions options = EventOptions(tmp_.path());
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->truth_path, options.out + ".truth.json");
  const nlohmann::json truth =
      nlohmann::json::parse(ReadFile(report->truth_path));
  EXPECT_EQ(truth["generator_version"], kSyntheticGeneratorVersion);
  EXPECT_EQ(truth["options"]["events"], true);
  EXPECT_EQ(truth["options"]["ratings"], 10000);
  EXPECT_EQ(truth["files"]["events"], "events.csv");
  EXPECT_EQ(truth["files"]["movies"], "movies.csv");
  EXPECT_FALSE(truth.contains("observed"));
  EXPECT_FALSE(truth.contains("noise_floor_rmse"));
  const nlohmann::json& counts = truth["counts"];
  EXPECT_EQ(counts["pairs"], 10000);
  EXPECT_EQ(counts["lines"], report->event_lines);
  for (const auto& [type, lines] : report->event_type_lines) {
    EXPECT_EQ(counts["event_lines"][type], lines) << type;
  }
  EXPECT_EQ(counts["event_lines"].size(), 4u);
  EXPECT_GE(counts["views"].get<int64_t>(), counts["event_lines"]["view"]);
  EXPECT_EQ(counts["disliked_pairs"], counts["event_lines"]["dislike"]);
  EXPECT_EQ(truth["events"]["read_as"]["event_weights"],
            "view=1,cart=4,purchase=10");
  EXPECT_EQ(truth["events"]["read_as"]["negative_events"], "dislike");

  const nlohmann::json& oracle = truth["oracle"];
  EXPECT_EQ(oracle["split"], "per_user_random:0.2");
  EXPECT_EQ(oracle["k"], 10);
  EXPECT_EQ(oracle["relevance_threshold"], 0.0);
  for (const nlohmann::json* m :
       {&oracle["per_user_random:0.2"],
        &oracle["popularity"]["per_user_random:0.2"]}) {
    for (const char* key :
         {"precision@10", "recall@10", "ndcg@10", "hit_rate@10", "map@10",
          "coverage", "hr@10", "loo_ndcg@10"}) {
      ASSERT_TRUE(m->contains(key) && (*m)[key].is_number()) << key;
      EXPECT_GE((*m)[key].get<double>(), 0.0) << key;
      EXPECT_LE((*m)[key].get<double>(), 1.0) << key;
    }
  }
  // Each user has at least 5 pairs, so each holds out at least one.
  EXPECT_EQ(oracle["evaluated_users"]["per_user_random:0.2"]["loo_users"],
            options.users);
  EXPECT_GT(oracle["test_interactions"].get<int64_t>(), 1800);
  EXPECT_LT(oracle["test_interactions"].get<int64_t>(), 2200);
}

TEST_F(SyntheticGeneratorTest, EventsOracleBeatsPopularity) {
  GeneratorOptions options;  // β = 3, σ = 0.5
  options.users = 1500;
  options.items = 800;
  options.ratings = 100000;
  options.seed = 2024;
  options.events = true;
  options.out = tmp_.Path("events.csv");
  absl::StatusOr<GeneratorReport> report = GenerateSyntheticData(options);
  ASSERT_TRUE(report.ok()) << report.status();
  const nlohmann::json oracle =
      nlohmann::json::parse(ReadFile(report->truth_path))["oracle"];
  // Popularity on the same split, computed here.
  Dataset all;
  ASSERT_TRUE(ReadRatings(options.out, EventReadOptions(), &all).ok());
  const absl::StatusOr<TrainTest> split =
      SplitDataset(all, {SplitSpec::Kind::kUserRandom, 0.2}, 1);
  ASSERT_TRUE(split.ok()) << split.status();
  const TrainTest& data = *split;
  TopNOptions topn;
  topn.relevance_threshold = 0;
  topn.max_users = oracle["max_users"];
  const PopularityScorer popularity(data.train);
  const TopNMetrics baseline =
      EvaluateTopN(popularity, data.train, data.test, topn);
  const nlohmann::json& reported = oracle["popularity"]["per_user_random:0.2"];
  EXPECT_DOUBLE_EQ(reported["recall@10"].get<double>(), baseline.recall);
  EXPECT_DOUBLE_EQ(reported["hit_rate@10"].get<double>(), baseline.hit_rate);
  const nlohmann::json& m = oracle["per_user_random:0.2"];
  RecordProperty("oracle_recall", m["recall@10"].dump());
  RecordProperty("popularity_recall", std::to_string(baseline.recall));
  // Measured (seed 2024): recall@10 0.472 vs 0.300, ndcg@10 0.629 vs 0.369,
  // precision@10 0.407 vs 0.242, map@10 0.512 vs 0.249, hit_rate@10 0.941 vs
  // 0.845, leave-one-out hr@10 0.778 vs 0.577.
  EXPECT_GT(m["recall@10"].get<double>(), 1.3 * baseline.recall)
      << oracle.dump(2);
  EXPECT_GT(m["ndcg@10"].get<double>(), 1.3 * baseline.ndcg);
  EXPECT_GT(m["precision@10"].get<double>(), 1.3 * baseline.precision);
  EXPECT_GT(m["map@10"].get<double>(), 1.5 * baseline.map);
  EXPECT_GT(m["hit_rate@10"].get<double>(), 1.05 * baseline.hit_rate);
  EXPECT_GT(m["hr@10"].get<double>(), 1.2 * baseline.loo_hr);
}

}  // namespace
}  // namespace recserve
