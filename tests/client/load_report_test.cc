#include "client/load_report.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve::client {
namespace {

using ::testing::HasSubstr;

// 1..100 µs, one call each, the last failing.
LoadResult Hundred() {
  LoadResult r;
  for (int i = 1; i <= 100; ++i) {
    r.calls.push_back({i % 2 ? LoadMethod::kRecommend : LoadMethod::kHealth,
                       i == 100 ? 14 : 0, static_cast<float>(i)});
  }
  r.errors["[Unavailable] gone"] = 1;
  r.seconds = 0.5;
  return r;
}

TEST(LoadReportTest, SummarizesLikeGhz) {
  const LoadReport r = Summarize(Hundred());
  EXPECT_EQ(r.count, 100);
  EXPECT_DOUBLE_EQ(r.requests_per_second, 200.0);
  EXPECT_DOUBLE_EQ(r.latency.fastest_us, 1);
  EXPECT_DOUBLE_EQ(r.latency.slowest_us, 100);
  EXPECT_DOUBLE_EQ(r.latency.average_us, 50.5);
  // Nearest rank: p50 of 1..100 is 50, p99 99, p99.9 100.
  ASSERT_EQ(r.latency.percentiles_us.size(), 8u);
  EXPECT_EQ(r.latency.percentiles_us[2], std::make_pair(50.0, 50.0));
  EXPECT_EQ(r.latency.percentiles_us[6], std::make_pair(99.0, 99.0));
  EXPECT_EQ(r.latency.percentiles_us[7], std::make_pair(99.9, 100.0));
  int64_t in_histogram = 0;
  for (const auto& bucket : r.latency.histogram_us) {
    in_histogram += bucket.second;
  }
  EXPECT_EQ(in_histogram, 100);
  EXPECT_EQ(r.status_codes.at("OK"), 99);
  EXPECT_EQ(r.status_codes.at("Unavailable"), 1);
  ASSERT_EQ(r.by_method.size(), 2u);
  EXPECT_EQ(r.by_method.at("Recommend").count, 50);
  EXPECT_EQ(r.by_method.at("Health").count, 50);

  const std::string text = FormatText(r);
  for (const char* expected :
       {"Count:\t100", "Requests/sec:\t200.00", "50 % in 0.05 ms",
        "[Unavailable]\t1 responses", "[1]\t[Unavailable] gone",
        "Recommend: 50 calls"}) {
    EXPECT_THAT(text, HasSubstr(expected));
  }
  const nlohmann::json j = ToJson(r);
  EXPECT_EQ(j["count"], 100);
  EXPECT_EQ(j["total"], 500'000'000);  // nanoseconds
  EXPECT_EQ(j["fastest"], 1000);
  EXPECT_EQ(j["statusCodeDistribution"]["OK"], 99);
  EXPECT_EQ(j["latencyDistribution"][2]["latency"], 50'000);
  EXPECT_EQ(j["byMethod"]["Health"]["count"], 50);
}

TEST(LoadReportTest, OneMethodHasNoBreakdownAndNothingIsEmptyOfSense) {
  LoadResult one;
  one.calls.push_back({LoadMethod::kHealth, 0, 10.0f});
  one.seconds = 1;
  EXPECT_TRUE(Summarize(one).by_method.empty());
  const LoadReport none = Summarize(LoadResult());
  EXPECT_EQ(none.count, 0);
  EXPECT_THAT(FormatText(none), HasSubstr("Count:\t0"));
}

}  // namespace
}  // namespace recserve::client
