// deploy/ghz/*.json: every ghz configuration names a method the server
// serves and carries request data that the method's message accepts, with
// ghz's {{randomInt A B}} templates filled in (by A) the way ghz would; the
// personalized Recommend names labels the demo data set has.

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "core/synthetic/synthetic_catalog.h"
#include "core/synthetic/synthetic_generator.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "recserve/v1/recommender.pb.h"

namespace recserve {
namespace {

namespace fs = std::filesystem;
using google::protobuf::DescriptorPool;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GhzConfigTest, EveryConfigCallsARealMethodWithValidData) {
  // Linking the messages registers recommender.proto in the generated pool.
  v1::RecommendRequest linked;
  const fs::path dir = fs::path(RECSERVE_SOURCE_DIR) / "deploy" / "ghz";
  std::set<std::string> calls;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    SCOPED_TRACE(entry.path().string());
    const nlohmann::json config = nlohmann::json::parse(Slurp(entry.path()));
    ASSERT_TRUE(config.contains("call") && config.contains("host"));
    EXPECT_EQ(config.value("insecure", false), true);
    EXPECT_FALSE(config.contains("proto")) << "must rely on reflection";
    EXPECT_TRUE(config.contains("duration") || config.contains("total"));
    const std::string call = config["call"];
    calls.insert(call);
    std::string data = config["data"].dump();
    data = std::regex_replace(
        data, std::regex(R"(\{\{randomInt (\d+) \d+\}\})"), "$1");
    if (call == "grpc.health.v1.Health.Check") {
      EXPECT_EQ(config["data"], nlohmann::json({{"service", ""}}));
      continue;
    }
    const google::protobuf::MethodDescriptor* method =
        DescriptorPool::generated_pool()->FindMethodByName(call);
    ASSERT_NE(method, nullptr) << call << " is not in recommender.proto";
    google::protobuf::DynamicMessageFactory factory;
    std::unique_ptr<google::protobuf::Message> request(
        factory.GetPrototype(method->input_type())->New());
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(data, request.get());
    EXPECT_TRUE(parsed.ok()) << data << ": " << parsed.ToString();
  }
  EXPECT_EQ(calls,
            (std::set<std::string>{"recserve.v1.Recommender.Recommend",
                                   "recserve.v1.Recommender.SimilarItems",
                                   "recserve.v1.Recommender.PredictRating",
                                   "grpc.health.v1.Health.Check"}));
}

TEST(GhzConfigTest, PersonalizedRecommendFoldsInAndFiltersOnDemoLabels) {
  const nlohmann::json config =
      nlohmann::json::parse(Slurp(fs::path(RECSERVE_SOURCE_DIR) / "deploy" /
                                  "ghz" / "recommend_personalized.json"));
  EXPECT_EQ(config["call"], "recserve.v1.Recommender.Recommend");
  const nlohmann::json& data = config["data"];
  ASSERT_TRUE(data.contains("recent") && data.contains("filter"));
  EXPECT_GT(data["recent"].size(), 0u);
  // scripts/run.sh generates the demo data with the generator's default
  // number of genres; their names are the snapshot's labels.
  std::set<std::string> genres;
  for (int32_t g = 0; g < GeneratorOptions().genres; ++g) {
    genres.insert(synthetic::GenreName(g));
  }
  for (const char* list : {"include_labels", "exclude_labels"}) {
    for (const std::string label :
         data["filter"].value(list, nlohmann::json::array())) {
      EXPECT_EQ(genres.count(label), 1u) << label << " is no demo genre";
    }
  }
}

}  // namespace
}  // namespace recserve
