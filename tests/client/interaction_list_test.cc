// The --recent syntax: item[:rating[:weight]] or item@event[*weight],
// comma-separated.

#include "client/interaction_list.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recserve::client {
namespace {

using ::testing::HasSubstr;

TEST(ParseInteractionsTest, ItemsRatingsAndWeights) {
  absl::StatusOr<std::vector<v1::Interaction>> parsed =
      ParseInteractions("50,172:5,181:4.5:2,x y:0:0");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].item_id(), "50");
  EXPECT_EQ((*parsed)[0].rating(), 0);
  EXPECT_EQ((*parsed)[0].weight(), 0);
  EXPECT_EQ((*parsed)[1].item_id(), "172");
  EXPECT_EQ((*parsed)[1].rating(), 5);
  EXPECT_EQ((*parsed)[2].rating(), 4.5);
  EXPECT_EQ((*parsed)[2].weight(), 2);
  EXPECT_EQ((*parsed)[3].item_id(), "x y");
  EXPECT_EQ(FormatInteractions(*parsed), "50,172:5,181:4.5:2,x y");
  EXPECT_TRUE(ParseInteractions("")->empty());
}

TEST(ParseInteractionsTest, ErrorsNameTheEntryAndWhatIsWrong) {
  const auto error = [](const std::string& text) {
    absl::StatusOr<std::vector<v1::Interaction>> parsed =
        ParseInteractions(text);
    EXPECT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(parsed.status().message());
  };
  EXPECT_THAT(error("50,,7"), HasSubstr("recent entry 2 '': empty item id"));
  EXPECT_THAT(error(":5"), HasSubstr("entry 1 ':5': empty item id"));
  EXPECT_THAT(error("50:five"),
              HasSubstr("rating 'five' is not a finite number"));
  EXPECT_THAT(error("50:nan"), HasSubstr("rating 'nan'"));
  EXPECT_THAT(error("50:4:inf"), HasSubstr("weight 'inf'"));
  EXPECT_THAT(error("1,50:4:-1"),
              HasSubstr("entry 2 '50:4:-1': weight must be >= 0"));
  EXPECT_THAT(error("50:4:1:2"), HasSubstr("expected item[:rating[:weight]]"));
  EXPECT_THAT(error("50,"), HasSubstr("entry 2"));
}

TEST(ParseInteractionsTest, Events) {
  absl::StatusOr<std::vector<v1::Interaction>> parsed =
      ParseInteractions("50@view,181@view*3,a@b@purchase*0.5,172:5");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 4u);
  EXPECT_EQ((*parsed)[0].item_id(), "50");
  EXPECT_EQ((*parsed)[0].event(), "view");
  EXPECT_EQ((*parsed)[0].weight(), 0);
  EXPECT_EQ((*parsed)[0].rating(), 0);
  EXPECT_EQ((*parsed)[1].event(), "view");
  EXPECT_EQ((*parsed)[1].weight(), 3);
  // The item id is what precedes the last '@'.
  EXPECT_EQ((*parsed)[2].item_id(), "a@b");
  EXPECT_EQ((*parsed)[2].event(), "purchase");
  EXPECT_EQ((*parsed)[2].weight(), 0.5);
  EXPECT_EQ((*parsed)[3].event(), "");
  EXPECT_EQ((*parsed)[3].rating(), 5);
  EXPECT_EQ(FormatInteractions(*parsed),
            "50@view,181@view*3,a@b@purchase*0.5,172:5");
}

TEST(ParseInteractionsTest, EventErrorsNameTheEntry) {
  const auto error = [](const std::string& text) {
    absl::StatusOr<std::vector<v1::Interaction>> parsed =
        ParseInteractions(text);
    EXPECT_FALSE(parsed.ok()) << text;
    return std::string(parsed.status().message());
  };
  EXPECT_THAT(error("@view"), HasSubstr("entry 1 '@view': empty item id"));
  EXPECT_THAT(error("1,50@"), HasSubstr("entry 2 '50@': empty event type"));
  EXPECT_THAT(error("50@*2"), HasSubstr("empty event type"));
  EXPECT_THAT(error("50@view:5"), HasSubstr("an event takes no rating"));
  EXPECT_THAT(error("50@view*x"), HasSubstr("weight 'x' is not a finite"));
  EXPECT_THAT(error("50@view*"), HasSubstr("weight '' is not a finite"));
  EXPECT_THAT(error("50@view*-1"), HasSubstr("weight must be >= 0"));
}

}  // namespace
}  // namespace recserve::client
