#include "tests/testutil/generated_data.h"

#include "core/data/rating_reader.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve::testutil {

GeneratedSplit GenerateAndSplit(double exposure_taste, const char* split) {
  TempDir tmp;
  GeneratorOptions gen;
  gen.users = 2000;
  gen.items = 1000;
  gen.ratings = 200000;
  gen.noise = 0.5;
  gen.seed = 2024;
  gen.exposure_taste = exposure_taste;
  gen.out = tmp.Path("ratings.csv");
  GeneratedSplit out;
  auto report = GenerateSyntheticData(gen);
  EXPECT_TRUE(report.ok()) << report.status();
  if (!report.ok()) return out;
  out.noise_floor = report->noise_floor_rmse;
  Dataset all;
  const auto read = ReadRatings(gen.out, RatingReadOptions(), &all);
  EXPECT_TRUE(read.ok()) << read.status();
  auto spec = ParseSplitSpec(split);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto data = SplitDataset(all, *spec, 1);
  EXPECT_TRUE(data.ok()) << data.status();
  if (data.ok()) out.data = *std::move(data);
  return out;
}

}  // namespace recserve::testutil
