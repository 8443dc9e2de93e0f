#include "core/model/day_biases.h"

#include "core/data/ratings.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

TEST(DayBiasesTest, DaysAreUtcCalendarDaysBeforeAndAfter1970) {
  EXPECT_EQ(DayOf(0), 0);
  EXPECT_EQ(DayOf(kSecondsPerDay - 1), 0);
  EXPECT_EQ(DayOf(kSecondsPerDay), 1);
  EXPECT_EQ(DayOf(-1), -1);
  EXPECT_EQ(DayOf(-kSecondsPerDay), -1);
  EXPECT_EQ(DayOf(-kSecondsPerDay - 1), -2);
}

TEST(DayBiasesTest, OffsetAddsTheDayAndTheUsersDay) {
  DayBiases biases;
  biases.day[10] = 0.25f;
  biases.user_day[{3, 10}] = -0.5f;
  const int64_t noon = 10 * kSecondsPerDay + kSecondsPerDay / 2;
  EXPECT_FLOAT_EQ(biases.Offset(3, noon), -0.25f);
  EXPECT_FLOAT_EQ(biases.Offset(4, noon), 0.25f);
  EXPECT_FLOAT_EQ(biases.Offset(kUnknownIndex, noon), 0.25f);
  EXPECT_FLOAT_EQ(biases.Offset(3, noon + kSecondsPerDay), 0.0f);
  EXPECT_FLOAT_EQ(DayBiases{}.Offset(3, noon), 0.0f);
}

}  // namespace
}  // namespace recserve
