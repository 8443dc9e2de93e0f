#include "core/data/event_weights.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(EventWeightsTest, ParsesWeightsAndNegatives) {
  auto events =
      ParseEventWeights(" view=1, cart = 4 ,purchase=10 ", "dislike, skip");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_THAT(events->weights,
              ElementsAre(Pair("cart", 4.0f), Pair("purchase", 10.0f),
                          Pair("view", 1.0f)));
  EXPECT_THAT(events->negative, ElementsAre("dislike", "skip"));
  EXPECT_EQ(events->WeightOf("cart"), 4.0f);
  EXPECT_EQ(events->WeightOf("unknown"), 1.0f);
  EXPECT_EQ(events->WeightOf("skip"), 1.0f);
  EXPECT_TRUE(events->IsNegative("skip"));
  EXPECT_FALSE(events->IsNegative("cart"));
  EXPECT_FALSE(events->IsNegative("unknown"));
  EXPECT_FALSE(events->empty());
}

TEST(EventWeightsTest, EmptyTextsGiveNoEntries) {
  auto events = ParseEventWeights("", "  ");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(events->empty());
  EXPECT_EQ(events->WeightOf("view"), 1.0f);
  EXPECT_EQ(EventWeightsText(*events), "");
  EXPECT_EQ(NegativeEventsText(*events), "");
}

TEST(EventWeightsTest, NameBothWeightedAndNegativeKeepsItsWeight) {
  auto events = ParseEventWeights("dislike=3,view=0.5", "dislike");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_TRUE(events->IsNegative("dislike"));
  EXPECT_EQ(events->WeightOf("dislike"), 3.0f);
  EXPECT_EQ(events->WeightOf("view"), 0.5f);
}

TEST(EventWeightsTest, TextsAreSortedAndRoundTrip) {
  auto events = ParseEventWeights("view=1,purchase=10,cart=0.1,like=2.5e-3",
                                  "skip,dislike");
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(EventWeightsText(*events),
            "cart=0.1,like=0.0025,purchase=10,view=1");
  EXPECT_EQ(NegativeEventsText(*events), "dislike,skip");
  auto again =
      ParseEventWeights(EventWeightsText(*events), NegativeEventsText(*events));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->weights, events->weights);
  EXPECT_EQ(again->negative, events->negative);
}

TEST(EventWeightsTest, BadEntriesAreQuoted) {
  const struct {
    const char* weights;
    const char* negative;
    const char* message;
  } kCases[] = {
      {"cart=-1", "",
       "event weight \"cart=-1\": the weight must be a finite "
       "number > 0"},
      {"cart=0", "", "\"cart=0\": the weight must be a finite number > 0"},
      {"cart=2e6", "",
       "\"cart=2e6\": the weight must be a finite number > 0 "
       "and <= 1e6"},
      {"cart=inf", "", "\"cart=inf\": the weight must be a finite"},
      {"cart=nan", "", "\"cart=nan\": the weight must be a finite"},
      {"cart=many", "", "\"cart=many\": the weight must be a finite"},
      {"cart=", "", "\"cart=\": the weight must be a finite"},
      {"cart", "", "\"cart\": expected name=weight"},
      {"view=1,,cart=2", "", "event weight \"\": expected name=weight"},
      {"=4", "", "\"=4\": the event name is empty"},
      {" = 4", "", "\"= 4\": the event name is empty"},
      {"a=b=1", "", "\"a=b=1\": the weight must be a finite"},
      {"view=1,view=2", "",
       "\"view=2\": the event \"view\" is weighted more "
       "than once"},
      {"", "skip,,dislike", "negative event \"\": the event name is empty"},
      {"", "skip,skip", "negative event \"skip\": named more than once"},
      {"", "a=b", "negative event \"a=b\": an event name must not contain"},
  };
  for (const auto& c : kCases) {
    auto events = ParseEventWeights(c.weights, c.negative);
    ASSERT_FALSE(events.ok()) << c.weights << " / " << c.negative;
    EXPECT_EQ(events.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(events.status().message(), HasSubstr(c.message))
        << c.weights << " / " << c.negative;
  }
}

}  // namespace
}  // namespace recserve
