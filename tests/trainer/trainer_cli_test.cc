// Runs the real recserve-train binary the way a person would.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/model/ordinal_output.h"
#include "core/snapshot/snapshot.h"
#include "core/train/bpmf_trainer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testutil::ReadFile;
using testutil::RunCommand;
using testutil::WriteFile;

const std::string kTrain = RECSERVE_TRAIN_BINARY;

class TrainerCliTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) { return tmp_.Path(name); }
  testutil::TempDir tmp_;
};

TEST_F(TrainerCliTest, GeneratesTrainsEvaluatesAndPublishes) {
  auto gen = RunCommand({kTrain, "generate", "--users", "300", "--items", "200",
                         "--ratings", "12000", "--seed", "3", "--out",
                         Path("ratings.csv")});
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  EXPECT_THAT(gen.out, HasSubstr("noise floor RMSE"));

  WriteFile(Path("labels.tsv"), "1\tin_stock|region:eu\n2\tin_stock\n");
  WriteFile(Path("users.tsv"),
            "1\tage:25-34|occupation:writer\n2\tage:25-34\nghost\tage:56+\n");
  auto train = RunCommand(
      {kTrain, "--ratings", Path("ratings.csv"), "--items", Path("movies.csv"),
       "--split", "random:0.2", "--epochs", "20", "--out", Path("snapshots"),
       "--item_labels", Path("labels.tsv"), "--user_labels", Path("users.tsv"),
       "--report_json", Path("report.json")});
  ASSERT_EQ(train.exit_code, 0) << train.out;
  EXPECT_THAT(train.out, HasSubstr("labels for 2 items (2 distinct labels)"));
  EXPECT_THAT(train.out, HasSubstr("labels for 3 users (3 distinct labels)"));
  EXPECT_THAT(train.out,
              HasSubstr("User labels: 2 users labelled (2 distinct labels); "
                        "users of the file not in the data, ignored: 1"));
  // The fold-in row: 10% of the users held out of training.
  EXPECT_THAT(train.out, HasSubstr("Fold-in on 30 users held out of training"));
  EXPECT_THAT(train.out, HasSubstr("epoch  20"));
  EXPECT_THAT(train.out, HasSubstr("popularity"));
  EXPECT_THAT(train.out, HasSubstr("Published snapshot"));
  // Evaluated on 80%, published after a refit on every rating.
  EXPECT_THAT(train.out,
              HasSubstr("Refitting both models on every input rating (12000 "
                        "ratings"));

  const nlohmann::json report =
      nlohmann::json::parse(ReadFile(Path("report.json")));
  for (const char* key : {"rmse", "mae", "r2", "precision@10", "recall@10",
                          "ndcg@10", "hr@10", "coverage", "train_seconds"}) {
    EXPECT_TRUE(report.contains(key)) << key;
  }
  EXPECT_GT(report["rmse"].get<double>(), 0.3);
  EXPECT_LT(report["rmse"].get<double>(), 1.2);
  EXPECT_EQ(report["params"]["algo"], "bpmf");
  EXPECT_EQ(report["published"], "refit");
  EXPECT_EQ(report["params"]["published_ratings"], 12000);
  EXPECT_TRUE(report["fold_in/recall@10"].is_number());
  EXPECT_EQ(report["fold_in"]["users"], 30);
  EXPECT_EQ(report["item_labels"]["items"], 2);
  EXPECT_EQ(report["user_labels"]["users"], 2);
  EXPECT_EQ(report["user_labels"]["unknown_users"], 1);
  // Both were features of the rating model (the generated items' genres,
  // the users' labels).
  EXPECT_EQ(report["params"]["item_labels"], true);
  EXPECT_EQ(report["params"]["user_labels"], true);

  auto snapshot = Snapshot::LoadLatest(Path("snapshots"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->version(), report["snapshot_version"]);
  EXPECT_EQ((*snapshot)->factors(), BpmfOptions{}.factors);
  EXPECT_TRUE((*snapshot)->has_item_metadata());
  EXPECT_EQ((*snapshot)->manifest().algo, "bpmf");
  EXPECT_EQ((*snapshot)->manifest().num_ratings, 12000);
  // Retrieval embeddings and the ranking chosen on validation go with it.
  EXPECT_TRUE((*snapshot)->has_retrieval());
  EXPECT_EQ((*snapshot)->retrieval_factors(), 32);
  // With what the server needs to fold users in, the labels, and (format
  // 5) the attribute maps that place new items; the recency weight
  // validation chose, which fold-in then applies; the item-item model when
  // chosen, which the report then describes.
  const float recency =
      report["params"]["retrieval"]["recency_weight"].get<float>();
  const nlohmann::json& item_item = report["params"]["item_item"];
  ASSERT_TRUE(item_item.is_object()) << report["params"].dump();
  ASSERT_TRUE(item_item["latest_validation"].is_array());
  EXPECT_GE(item_item["latest_validation"].size(), 6u);
  const bool ranks_item_item = item_item["chosen"].get<bool>();
  EXPECT_EQ((*snapshot)->has_item_item(), ranks_item_item);
  // Format 8 with the rating model's ordinal output (the generated
  // ratings are half stars), which the report lists as published.
  const nlohmann::json& ordinal = report["params"]["ordinal_output"];
  ASSERT_TRUE(ordinal.is_object()) << report["params"].dump();
  EXPECT_EQ(ordinal["cutpoints"].size(),
            ScaleValues((*snapshot)->rating_scale()) - 1);
  EXPECT_GT(ordinal["cutpoints"].size(), 1u);
  EXPECT_EQ((*snapshot)->ordinal_output().cutpoints,
            ordinal["cutpoints"].get<std::vector<float>>());
  EXPECT_EQ((*snapshot)->ordinal_output().stddev,
            ordinal["stddev"].get<float>());
  EXPECT_EQ((*snapshot)->manifest().format_version, 8);
  if (ranks_item_item) {
    EXPECT_EQ((*snapshot)->item_item()->reg, item_item["reg"].get<float>());
    EXPECT_EQ((*snapshot)->item_item_weights().rows(),
              item_item["items"].get<int32_t>());
    EXPECT_TRUE(report["item_item/ndcg@10"].is_number());
  }
  ASSERT_NE((*snapshot)->fold_in(), nullptr);
  EXPECT_EQ((*snapshot)->fold_in()->retrieval.recency_weight, recency);
  // The report lists the λ and recency trials, the chosen one among them.
  const nlohmann::json& latest =
      report["params"]["retrieval"]["latest_validation"];
  ASSERT_TRUE(latest.is_array());
  ASSERT_GE(latest.size(), 2u);
  bool chosen_listed = false;
  for (const nlohmann::json& t : latest) {
    chosen_listed |= t["reg"].get<float>() ==
                         report["params"]["retrieval"]["reg"].get<float>() &&
                     t["recency_weight"].get<float>() == recency;
  }
  EXPECT_TRUE(chosen_listed);
  ASSERT_NE((*snapshot)->attributes(), nullptr);
  EXPECT_EQ((*snapshot)->attributes()->spec.size(),
            report["cold_items"]["published"]["attributes"].get<int32_t>());
  EXPECT_THAT(train.out, HasSubstr("New items from their metadata"));
  EXPECT_TRUE(report["cold_items/hit_rate@10/mapped"].is_number());
  EXPECT_NE((*snapshot)->fold_in(), nullptr);
  const int32_t labelled = (*snapshot)->FindItem("1");
  ASSERT_NE(labelled, kUnknownIndex);
  EXPECT_THAT((*snapshot)->ItemLabels(labelled),
              ::testing::Contains((*snapshot)->FindLabel("region:eu")));
  EXPECT_NE((*snapshot)->FindLabel("region:eu"), kUnknownIndex);
  EXPECT_EQ((*snapshot)->ranking().candidates,
            report["params"]["ranking"]["candidates"].get<int32_t>());
  EXPECT_EQ(report["two_stage/hr@10"], report["hr@10"]);

  // A second run publishes a newer version, which becomes the latest.
  auto again = RunCommand({kTrain, "--ratings", Path("ratings.csv"), "--algo",
                           "als", "--publish_evaluated", "--fold_in_users", "0",
                           "--out", Path("snapshots")});
  ASSERT_EQ(again.exit_code, 0) << again.out;
  EXPECT_THAT(again.out, Not(HasSubstr("Refitting both models")));
  EXPECT_THAT(again.out, Not(HasSubstr("Fold-in")));
  auto newer = Snapshot::LoadLatest(Path("snapshots"));
  ASSERT_TRUE(newer.ok());
  EXPECT_GT((*newer)->version(), (*snapshot)->version());
  EXPECT_EQ((*newer)->manifest().algo, "als");
  EXPECT_EQ((*newer)->manifest().training_params["published"], "evaluated");
  // The evaluated models still list every rating of the users they know.
  EXPECT_EQ((*newer)->manifest().num_ratings, 12000);

  // Without retrieval the snapshot stays in format 1, which older servers
  // read.
  // (20 sweeps: the format is the point, and BPMF's default 500 on data
  // this small are slow under the sanitizers.)
  auto plain =
      RunCommand({kTrain, "--ratings", Path("ratings.csv"), "--retrieval=false",
                  "--epochs", "20", "--out", Path("plain")});
  ASSERT_EQ(plain.exit_code, 0) << plain.out;
  auto format1 = Snapshot::LoadLatest(Path("plain"));
  ASSERT_TRUE(format1.ok()) << format1.status();
  EXPECT_FALSE((*format1)->has_retrieval());
  EXPECT_EQ((*format1)->manifest().format_version, 1);
}

TEST_F(TrainerCliTest, TrainsOnEventsAndOnPlayCounts) {
  // A generated event log, read with the documented mapping.
  auto gen = RunCommand({kTrain, "generate", "--events", "--users", "300",
                         "--items", "200", "--ratings", "9000", "--seed", "3",
                         "--out", Path("events.csv")});
  ASSERT_EQ(gen.exit_code, 0) << gen.out;
  EXPECT_THAT(gen.out, HasSubstr("9000 (user, item) pairs"));
  auto train = RunCommand(
      {kTrain, "--ratings", Path("events.csv"), "--format", "generic",
       "--columns",
       "user=userId,item=movieId,event=event,count=count,timestamp=timestamp",
       "--event_weights", "view=1,cart=4,purchase=10", "--negative_events",
       "dislike", "--split", "user_random:0.2", "--report_json",
       Path("events.json"), "--out", Path("events")});
  ASSERT_EQ(train.exit_code, 0) << train.out;
  EXPECT_THAT(train.out, HasSubstr("9000 (user, item) interactions of "
                                   "implicit feedback"));
  EXPECT_THAT(train.out, HasSubstr("lines merged into them"));
  EXPECT_THAT(train.out, HasSubstr("predicts no ratings"));
  EXPECT_THAT(train.out, HasSubstr("Retrieval settings chosen on validation"));
  const nlohmann::json report =
      nlohmann::json::parse(ReadFile(Path("events.json")));
  EXPECT_FALSE(report.contains("rmse"));
  EXPECT_EQ(report["params"]["feedback"], "implicit");
  EXPECT_GT(report["retrieval/recall@10"].get<double>(),
            report["popularity/recall@10"].get<double>());
  EXPECT_TRUE(report["params"]["retrieval"]["tuning"]["trials"].is_array());
  auto snapshot = Snapshot::LoadLatest(Path("events"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->feedback(), Feedback::kImplicit);
  EXPECT_FALSE((*snapshot)->has_rating_model());

  // Play counts, tab-separated, as Last.fm's user_artists.dat ships.
  std::string counts = "userID\tartistID\tweight\n";
  for (int u = 1; u <= 40; ++u) {
    for (int a = 1; a <= 12; ++a) {
      const int artist = (u * 7 + a * a) % 60 + 1;
      counts += std::to_string(u) + "\t" + std::to_string(artist) + "\t" +
                std::to_string(1 + (u * 31 + a * 17) % 900) + "\n";
    }
  }
  WriteFile(Path("user_artists.dat"), counts);
  auto plays = RunCommand(
      {kTrain, "--ratings", Path("user_artists.dat"), "--format", "generic",
       "--delimiter", "\\t", "--columns",
       "user=userID,item=artistID,count=weight", "--out", Path("plays")});
  ASSERT_EQ(plays.exit_code, 0) << plays.out;
  EXPECT_THAT(plays.out, HasSubstr("Published snapshot"));
  auto played = Snapshot::LoadLatest(Path("plays"));
  ASSERT_TRUE(played.ok()) << played.status();
  EXPECT_EQ((*played)->feedback(), Feedback::kImplicit);

  // A bad count names the file and the line.
  WriteFile(Path("bad.dat"), "userID\tartistID\tweight\n1\t2\t3\n1\t3\t-4\n");
  auto bad = RunCommand({kTrain, "--ratings", Path("bad.dat"), "--format",
                         "generic", "--delimiter", "\\t", "--columns",
                         "user=userID,item=artistID,count=weight", "--out",
                         Path("bad")});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.out, HasSubstr("bad.dat:3: count must be"));
  // An unknown feedback kind names the flag.
  auto kind = RunCommand({kTrain, "--ratings", Path("bad.dat"), "--feedback",
                          "stars", "--out", Path("bad")});
  EXPECT_NE(kind.exit_code, 0);
  EXPECT_THAT(kind.out, HasSubstr("--feedback"));
}

TEST_F(TrainerCliTest, BadInputNamesFileAndLineAndKeepsTheSnapshot) {
  WriteFile(Path("good.data"),
            "1\t10\t4\t100\n1\t11\t3\t101\n2\t10\t5\t102\n"
            "2\t12\t2\t103\n3\t11\t4\t104\n3\t12\t1\t105\n");
  auto ok = RunCommand({kTrain, "--ratings", Path("good.data"), "--split",
                        "none", "--epochs", "3", "--out", Path("snapshots")});
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  const std::string latest = ReadFile(Path("snapshots/LATEST"));

  WriteFile(Path("bad.data"), "1\t10\t4\t100\n1\tx\t3\t101\n");
  auto bad = RunCommand(
      {kTrain, "--ratings", Path("bad.data"), "--out", Path("snapshots")});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, HasSubstr("bad.data:2"));
  EXPECT_EQ(ReadFile(Path("snapshots/LATEST")), latest);

  // --skip_bad_lines turns it into a counted warning.
  WriteFile(Path("mostly.data"),
            ReadFile(Path("good.data")) + "1\t10\tNaN\t106\n");
  auto skipped =
      RunCommand({kTrain, "--ratings", Path("mostly.data"), "--split", "none",
                  "--epochs", "3", "--skip_bad_lines"});
  EXPECT_EQ(skipped.exit_code, 0) << skipped.out;
  EXPECT_THAT(skipped.out, HasSubstr("skipped 1 bad lines"));
}

TEST_F(TrainerCliTest, RejectsBadFlagsWithAClearMessage) {
  auto algo = RunCommand({kTrain, "--ratings", "x", "--algo", "magic"});
  EXPECT_EQ(algo.exit_code, 1);
  EXPECT_THAT(algo.out, HasSubstr("unknown algorithm 'magic'"));
  auto none = RunCommand({kTrain});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.out, HasSubstr("--ratings"));
  auto missing = RunCommand({kTrain, "--ratings", Path("nope.csv")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.out, HasSubstr("nope.csv"));
  auto split = RunCommand(
      {kTrain, "--ratings", Path("nope.csv"), "--split", "random:7"});
  EXPECT_EQ(split.exit_code, 1);
  auto fold_in = RunCommand(
      {kTrain, "--ratings", Path("nope.csv"), "--fold_in_users", "1.5"});
  EXPECT_EQ(fold_in.exit_code, 1);
  EXPECT_THAT(fold_in.out, HasSubstr("fold_in_users must be in [0, 1)"));
  auto labels =
      RunCommand({kTrain, "--ratings", Path("nope.csv"), "--item_labels",
                  Path("nope.tsv"), "--retrieval=false"});
  EXPECT_EQ(labels.exit_code, 1);
  EXPECT_THAT(labels.out, HasSubstr("item labels need retrieval embeddings"));
  std::string ratings = "userId,movieId,rating,timestamp\n";
  for (int u = 1; u <= 10; ++u) {
    for (int i = 1; i <= 10; ++i)
      absl::StrAppend(&ratings, u, ",", i, ",4,", u * 100 + i, "\n");
  }
  WriteFile(Path("ratings-ok.csv"), ratings);
  WriteFile(Path("bad-users.tsv"), "1\tage:25-34\n\tage:18-24\n");
  auto user_labels = RunCommand({kTrain, "--ratings", Path("ratings-ok.csv"),
                                 "--user_labels", Path("bad-users.tsv")});
  EXPECT_EQ(user_labels.exit_code, 1);
  EXPECT_THAT(user_labels.out, HasSubstr("bad-users.tsv:2: empty user id"));
  auto import_labels = RunCommand(
      {kTrain, "import", "--user_factors", Path("u.csv"), "--item_factors",
       Path("i.csv"), "--ratings", Path("nope.csv"), "--out", Path("snapshots"),
       "--item_labels", Path("nope.tsv")});
  EXPECT_EQ(import_labels.exit_code, 1);
  EXPECT_THAT(import_labels.out, HasSubstr("import takes no item labels"));
  auto command = RunCommand({kTrain, "serve"});
  EXPECT_EQ(command.exit_code, 2);
  EXPECT_THAT(command.out, HasSubstr("unknown command 'serve'"));
}

TEST_F(TrainerCliTest, ImportsFactorsTrainedElsewhere) {
  WriteFile(Path("ratings.csv"),
            "userId,movieId,rating,timestamp\n1,10,4.0,1\n1,11,3.0,2\n"
            "2,10,5.0,3\n");
  WriteFile(Path("users.csv"), "id,bias,f1,f2\n1,0.1,0.5,-0.5\n2,-0.2,1,0\n");
  WriteFile(Path("items.csv"), "id,bias,f1,f2\n10,0.3,1,1\n11,0,0,2\n");
  auto imported =
      RunCommand({kTrain, "import", "--user_factors", Path("users.csv"),
                  "--item_factors", Path("items.csv"), "--ratings",
                  Path("ratings.csv"), "--out", Path("snap")});
  ASSERT_EQ(imported.exit_code, 0) << imported.out;
  auto snapshot = Snapshot::LoadLatest(Path("snap"));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const Snapshot& s = **snapshot;
  EXPECT_EQ(s.factors(), 2);
  // μ = 4, user 1: 4 + 0.1 + 0.3 + (0.5·1 - 0.5·1) = 4.4.
  EXPECT_NEAR(s.Score(s.FindUser("1"), s.FindItem("10")), 4.4f, 1e-5);

  // Spark's ALS has no global mean: --global_mean 0 keeps p·q as is.
  auto spark = RunCommand({kTrain, "import", "--user_factors",
                           Path("users.csv"), "--item_factors",
                           Path("items.csv"), "--ratings", Path("ratings.csv"),
                           "--global_mean", "0", "--out", Path("spark")});
  ASSERT_EQ(spark.exit_code, 0) << spark.out;
  auto zero_mean = Snapshot::LoadLatest(Path("spark"));
  ASSERT_TRUE(zero_mean.ok()) << zero_mean.status();
  const Snapshot& z = **zero_mean;
  EXPECT_NEAR(z.Score(z.FindUser("2"), z.FindItem("11")), -0.2f + 0.0f + 0.0f,
              1e-5);

  // Retrieval embeddings can come along.
  WriteFile(Path("user_emb.csv"), "1,0.5,0.5,0.1\n2,1,0,0\n");
  WriteFile(Path("item_emb.csv"), "10,1,0,0\n11,0,1,0\n12,0,0,1\n");
  auto with_embeddings = RunCommand(
      {kTrain, "import", "--user_factors", Path("users.csv"), "--item_factors",
       Path("items.csv"), "--ratings", Path("ratings.csv"), "--user_embeddings",
       Path("user_emb.csv"), "--item_embeddings", Path("item_emb.csv"), "--out",
       Path("embedded")});
  ASSERT_EQ(with_embeddings.exit_code, 0) << with_embeddings.out;
  EXPECT_THAT(with_embeddings.out, HasSubstr("1 item rows without factors"));
  auto embedded = Snapshot::LoadLatest(Path("embedded"));
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  EXPECT_TRUE((*embedded)->has_retrieval());
  EXPECT_EQ((*embedded)->retrieval_factors(), 3);
  const Snapshot& e = **embedded;
  EXPECT_FLOAT_EQ(e.user_embeddings()(e.FindUser("1"), 2), 0.1f);
  EXPECT_FLOAT_EQ(e.ranking().blend_weight, 1.0f);

  // Events are no ratings to import factors against.
  WriteFile(Path("plays.csv"), "userId,movieId,plays\n1,10,3\n2,11,7\n");
  for (const char* feedback : {"auto", "implicit"}) {
    auto events =
        RunCommand({kTrain, "import", "--user_factors", Path("users.csv"),
                    "--item_factors", Path("items.csv"), "--ratings",
                    Path("plays.csv"), "--format", "generic", "--columns",
                    "user=userId,item=movieId,count=plays", "--feedback",
                    feedback, "--out", Path("events")});
    EXPECT_NE(events.exit_code, 0) << feedback;
    EXPECT_THAT(events.out, HasSubstr("rating")) << feedback;
  }
}

}  // namespace
}  // namespace recserve
