// recserve-train add-items, run as a person would, on a snapshot published
// in process (tests/core/snapshot/cold_snapshot_fixture.h).

#include <string>

#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/core/snapshot/cold_snapshot_fixture.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;
using testutil::RunCommand;
using testutil::WriteFile;

const std::string kTrain = RECSERVE_TRAIN_BINARY;

class AddItemsCliTest : public ::testing::Test {
 protected:
  AddItemsCliTest()
      : fixture_(testutil::MakeColdFixture(8, 30, 1, 3, 4)),
        root_(tmp_.Path("snapshots")) {}

  void Publish(bool attributes) {
    SnapshotContents c = testutil::ContentsOf(fixture_);
    if (!attributes) {
      c.attributes = nullptr;
      c.cold_items = 0;
    }
    ASSERT_TRUE(PublishSnapshot(root_, c).ok());
  }

  testutil::TempDir tmp_;
  testutil::ColdSnapshotFixture fixture_;
  std::string root_;
};

TEST_F(AddItemsCliTest, AddsItemsAndSaysWhatItDid) {
  ASSERT_NO_FATAL_FAILURE(Publish(/*attributes=*/true));
  WriteFile(tmp_.Path("movies.csv"), testutil::MoviesCsv(25, 40));
  WriteFile(tmp_.Path("labels.tsv"), "35\tin_stock\n");
  WriteFile(tmp_.Path("tags.csv"),
            "userId,movieId,tag,timestamp\n1,36,funny,100\n");
  auto run =
      RunCommand({kTrain, "add-items", "--snapshot_dir", root_, "--items",
                  tmp_.Path("movies.csv"), "--items_format", "csv",
                  "--item_labels", tmp_.Path("labels.tsv"), "--item_tags",
                  tmp_.Path("tags.csv"), "--keep_versions", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("Added 9 items to v000001 (7 already "
                                 "present"));
  EXPECT_THAT(run.out, HasSubstr("Published v000001 -> v000002"));
  EXPECT_THAT(run.out, HasSubstr("0 index files extended"));
  auto s = Snapshot::LoadLatest(root_);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->version(), "v000002");
  EXPECT_EQ((*s)->num_items(), 40);
  EXPECT_EQ((*s)->num_cold_items(), 10);
  EXPECT_TRUE((*s)->IsColdItem((*s)->FindItem("40")));

  // Again: nothing new, nothing published.
  run = RunCommand({kTrain, "add-items", "--snapshot_dir", root_, "--items",
                    tmp_.Path("movies.csv")});
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("No new items"));
  EXPECT_EQ(*ResolveLatestVersion(root_), "v000002");
}

TEST_F(AddItemsCliTest, ErrorsAreClear) {
  auto run = RunCommand({kTrain, "add-items", "--items", "x.csv"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("add-items needs --snapshot_dir DIR --items "
                                 "FILE"));
  ASSERT_NO_FATAL_FAILURE(Publish(/*attributes=*/false));
  WriteFile(tmp_.Path("movies.csv"), testutil::MoviesCsv(25, 40));
  run = RunCommand({kTrain, "add-items", "--snapshot_dir", root_, "--items",
                    tmp_.Path("movies.csv")});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, HasSubstr("has no attribute maps: retrain with item "
                                 "metadata (--items)"));
}

}  // namespace
}  // namespace recserve
