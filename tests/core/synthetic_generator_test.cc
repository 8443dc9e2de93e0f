#include "core/synthetic_generator.h"

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
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
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

}  // namespace
}  // namespace recserve
