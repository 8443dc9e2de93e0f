// Hot reload on the real server under load: a new version is swapped in
// without a failed request, a storm of versions leaves at most two models in
// memory, and every kind of corrupt version is rejected while the old one
// keeps serving.

#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/snapshot/snapshot.h"
#include "core/snapshot/snapshot_manifest.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "recserve/v1/recommender.grpc.pb.h"
#include "server/recserve_server.h"
#include "tests/server/server_test_util.h"
#include "tests/testutil/serving_fixture.h"
#include "tests/testutil/snapshot_tampering.h"
#include "tests/testutil/temp_files.h"

namespace recserve::server {
namespace {

using ::testing::HasSubstr;
using testutil::WaitFor;

// Client threads calling Recommend in a loop until stopped, counting
// failures and the versions that answered.
class Load {
 public:
  Load(int port, int threads) {
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this, t] { Run(t); });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (std::thread& w : workers_) {
      if (w.joinable()) w.join();
    }
  }
  int64_t calls() const { return calls_; }
  std::vector<std::string> failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }
  std::set<std::string> versions() {
    std::lock_guard lock(mu_);
    return versions_;
  }
  bool Saw(const std::string& version) {
    std::lock_guard lock(mu_);
    return versions_.count(version) > 0;
  }

 private:
  void Run(int t) {
    auto stub = v1::Recommender::NewStub(channel_);
    // Bounded: stops when told, or after 20,000 calls per thread.
    for (int i = 0; !stop_ && i < 20'000; ++i) {
      v1::RecommendRequest request;
      request.set_user_id(absl::StrCat("u", (t * 7 + i) % 40));
      request.set_n(5);
      v1::RecommendResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      const grpc::Status status = stub->Recommend(&context, request, &response);
      ++calls_;
      std::lock_guard lock(mu_);
      if (!status.ok()) {
        failures_.push_back(status.error_message());
      } else {
        versions_.insert(response.model_version());
      }
    }
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> calls_{0};
  std::mutex mu_;  // std::mutex: visible to ThreadSanitizer
  std::vector<std::string> failures_;
  std::set<std::string> versions_;
};

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    first_ = testutil::PublishTinySnapshot(tmp_.path(), {});
    ServerOptions o;
    o.snapshot_dir = tmp_.path();
    o.listen = "127.0.0.1:0";
    o.metrics_listen = "127.0.0.1:0";
    o.poll_interval = absl::Milliseconds(50);
    absl::StatusOr<std::unique_ptr<RecserveServer>> server =
        RecserveServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_TRUE(WaitFor([&] { return server_->models().Current() != nullptr; },
                        absl::Seconds(30)));
  }

  std::string Metrics() {
    return testutil::HttpGet(server_->metrics_port(), "/metrics");
  }

  testutil::TempDir tmp_;
  std::string first_;
  std::unique_ptr<RecserveServer> server_;
};

TEST_F(ReloadTest, SwapsUnderLoadWithoutAFailedRequest) {
  Load load(server_->port(), 4);
  ASSERT_TRUE(WaitFor([&] { return load.calls() > 200; }, absl::Seconds(30)));
  testutil::TinySnapshotSpec spec;
  spec.seed = 3;
  const std::string second = testutil::PublishTinySnapshot(tmp_.path(), spec);
  ASSERT_TRUE(WaitFor([&] { return load.Saw(second); }, absl::Seconds(30)));
  const int64_t at_swap = load.calls();
  ASSERT_TRUE(
      WaitFor([&] { return load.calls() > at_swap + 200; }, absl::Seconds(30)));
  load.Stop();
  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_EQ(load.versions(), (std::set<std::string>{first_, second}));
  EXPECT_THAT(
      Metrics(),
      HasSubstr("recserve_snapshot_reloads_total{result=\"success\"} 2"));
}

// The snapshot version folders this process has files of mapped (the
// snapshot arrays are memory-mapped, so this is the model memory it holds).
std::set<std::string> MappedVersions(const std::string& root) {
  std::set<std::string> versions;
  std::istringstream maps(testutil::ReadFile("/proc/self/maps"));
  std::string line;
  while (std::getline(maps, line)) {
    const size_t at = line.find(root + "/v");
    if (at == std::string::npos) continue;
    const size_t start = at + root.size() + 1;
    versions.insert(line.substr(start, line.find('/', start) - start));
  }
  return versions;
}

TEST_F(ReloadTest, ReloadStormUnderLoadKeepsAtMostTwoModels) {
  Load load(server_->port(), 4);
  ASSERT_TRUE(WaitFor([&] { return load.calls() > 200; }, absl::Seconds(30)));
  // Every model the server swaps in, watched without keeping it alive.
  std::mutex mu;
  std::map<std::string, std::weak_ptr<const ServingModel>> served;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    while (!stop) {
      std::shared_ptr<const ServingModel> m = server_->models().Current();
      {
        std::lock_guard lock(mu);
        served.emplace(m->snapshot().version(), m);
      }
      m.reset();
      absl::SleepFor(absl::Milliseconds(2));
    }
  });
  // 40 versions as fast as they can be written, while the server polls
  // every 50 ms and loads whichever is newest.
  std::string last;
  for (int v = 0; v < 40; ++v) {
    testutil::TinySnapshotSpec spec;
    spec.seed = 100 + v;
    last = testutil::PublishTinySnapshot(tmp_.path(), spec);
  }
  ASSERT_TRUE(WaitFor(
      [&] { return server_->models().Current()->snapshot().version() == last; },
      absl::Seconds(60)));
  const int64_t at_last = load.calls();
  ASSERT_TRUE(
      WaitFor([&] { return load.calls() > at_last + 200; }, absl::Seconds(30)));
  stop = true;
  watcher.join();
  load.Stop();

  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_TRUE(load.Saw(last));
  std::lock_guard lock(mu);
  EXPECT_GE(served.size(), 2u) << "the storm swapped models";
  int alive = 0;
  for (const auto& [version, model] : served) alive += !model.expired();
  EXPECT_LE(alive, 2) << "models still held after the storm";
  const std::set<std::string> mapped = MappedVersions(tmp_.path());
  EXPECT_LE(mapped.size(), 2u)
      << "versions still mapped: " << absl::StrJoin(mapped, ", ");
  EXPECT_EQ(mapped.count(last), 1u);
}

// Every kind of damage a published version can have, each injected into a
// version that is then published next to the one serving: the server
// rejects it with a reason naming what is wrong, counts the rejection and
// keeps answering from the previous version without a failed request.
struct Corruption {
  const char* name;
  // Damages the version folder `dir` (not yet visible to the server).
  std::function<void(const std::string& dir)> apply;
  // In the rejection's log line.
  const char* reason;
  // Publishes LATEST naming this instead of the damaged version.
  const char* latest = nullptr;
};

void FlipByte(const std::string& path, size_t from_end) {
  std::string bytes = testutil::ReadFile(path);
  bytes[bytes.size() - from_end] ^= 0x40;
  std::filesystem::remove(path);
  testutil::WriteFile(path, bytes);
}

// Replaces the first `from` with `to` in `dir`/`name` and updates the
// manifest's size and crc32, so that only the content checks can object.
void EditKeepingManifestValid(const std::string& dir, const std::string& name,
                              const std::string& from, const std::string& to) {
  std::string bytes = testutil::ReadFile(absl::StrCat(dir, "/", name));
  const size_t at = bytes.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << name;
  bytes.replace(at, from.size(), to);
  std::filesystem::remove(absl::StrCat(dir, "/", name));
  testutil::ReplaceFileKeepingManifestValid(dir, name, bytes);
}

// Sets the last float of a float32 .npy file, keeping the manifest valid.
void SetLastFloat(const std::string& dir, const std::string& name, float v) {
  std::string bytes = testutil::ReadFile(absl::StrCat(dir, "/", name));
  std::memcpy(bytes.data() + bytes.size() - sizeof(float), &v, sizeof(float));
  std::filesystem::remove(absl::StrCat(dir, "/", name));
  testutil::ReplaceFileKeepingManifestValid(dir, name, bytes);
}

const Corruption kCorruptions[] = {
    {"TruncatedArray",
     [](const std::string& dir) {
       std::filesystem::resize_file(absl::StrCat(dir, "/", kUserFactorsFile),
                                    100);
     },
     kUserFactorsFile},
    {"FlippedByte",
     [](const std::string& dir) {
       FlipByte(absl::StrCat(dir, "/", kItemFactorsFile), 5);
     },
     kItemFactorsFile},
    {"WrongShapeInHeader",
     [](const std::string& dir) {
       // 60 items; the header claims 61 and the data grows to match.
       std::string bytes =
           testutil::ReadFile(absl::StrCat(dir, "/", kItemBiasFile));
       const size_t at = bytes.find("(60,)");
       ASSERT_NE(at, std::string::npos);
       bytes.replace(at, 5, "(61,)");
       bytes.append(4, '\0');
       std::filesystem::remove(absl::StrCat(dir, "/", kItemBiasFile));
       testutil::ReplaceFileKeepingManifestValid(dir, kItemBiasFile, bytes);
     },
     kItemBiasFile},
    {"WrongDtypeInHeader",
     [](const std::string& dir) {
       EditKeepingManifestValid(dir, kUserBiasFile, "<f4", "<i4");
     },
     kUserBiasFile},
    {"MissingFile",
     [](const std::string& dir) {
       std::filesystem::remove(absl::StrCat(dir, "/", kItemIdsFile));
     },
     kItemIdsFile},
    {"ManifestLiesAboutCounts",
     [](const std::string& dir) {
       const std::string path = absl::StrCat(dir, "/manifest.json");
       absl::StatusOr<SnapshotManifest> manifest =
           ParseManifest(testutil::ReadFile(path));
       ASSERT_TRUE(manifest.ok()) << manifest.status();
       manifest->num_users += 1;
       std::filesystem::remove(path);
       testutil::WriteFile(path, ManifestToJson(*manifest));
     },
     "41"},
    {"NanInFactors",
     [](const std::string& dir) {
       SetLastFloat(dir, kUserFactorsFile,
                    std::numeric_limits<float>::quiet_NaN());
     },
     kUserFactorsFile},
    {"InfInEmbeddings",
     [](const std::string& dir) {
       SetLastFloat(dir, kItemEmbeddingsFile,
                    std::numeric_limits<float>::infinity());
     },
     kItemEmbeddingsFile},
    {"DuplicatedIds",
     [](const std::string& dir) {
       EditKeepingManifestValid(dir, kUserIdsFile, "\nu1\n", "\nu0\n");
     },
     kUserIdsFile},
    {"LatestNamesAMissingVersion", [](const std::string&) {}, "v000099",
     "v000099"},
};

void PrintTo(const Corruption& corruption, std::ostream* out) {
  *out << corruption.name;
}

class CorruptSnapshotTest : public ReloadTest,
                            public ::testing::WithParamInterface<Corruption> {
 protected:
  int64_t Failures() {
    const std::string metrics = Metrics();
    static const std::regex kFailures(
        "recserve_snapshot_reloads_total\\{result=\"failure\"\\} (\\d+)");
    std::smatch m;
    return std::regex_search(metrics, m, kFailures) ? std::stoll(m[1]) : -1;
  }
};

TEST_P(CorruptSnapshotTest, IsRejectedWithItsReasonWhileTheOldOneServes) {
  const Corruption& corruption = GetParam();
  Load load(server_->port(), 2);
  ASSERT_TRUE(WaitFor([&] { return load.calls() > 50; }, absl::Seconds(30)));
  ASSERT_EQ(Failures(), 0);

  // Made and damaged in a staging root, then moved in and published, so the
  // server never sees the version whole.
  testutil::TempDir staging;
  testutil::TinySnapshotSpec spec;
  spec.seed = 4;
  testutil::PublishTinySnapshot(staging.path(), spec);
  const std::string version =
      testutil::PublishTinySnapshot(staging.path(), spec);
  ASSERT_EQ(version, "v000002");
  corruption.apply(staging.Path(version));
  std::filesystem::rename(staging.Path(version), tmp_.Path(version));
  testing::internal::CaptureStderr();
  testutil::WriteFile(
      tmp_.Path("LATEST.tmp"),
      absl::StrCat(
          corruption.latest != nullptr ? corruption.latest : version.c_str(),
          "\n"));
  std::filesystem::rename(tmp_.Path("LATEST.tmp"), tmp_.Path(kLatestFile));

  const bool counted =
      WaitFor([&] { return Failures() == 1; }, absl::Seconds(30));
  const int64_t after = load.calls();
  const bool served =
      WaitFor([&] { return load.calls() > after + 100; }, absl::Seconds(30));
  // Several more polls: a rejected version (or LATEST) is not retried.
  absl::SleepFor(absl::Milliseconds(300));
  load.Stop();
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(counted) << log;
  ASSERT_TRUE(served);
  EXPECT_THAT(log, HasSubstr("rejected snapshot"));
  EXPECT_THAT(log, HasSubstr(corruption.reason));
  EXPECT_THAT(load.failures(), ::testing::IsEmpty());
  EXPECT_EQ(load.versions(), (std::set<std::string>{first_}));
  EXPECT_EQ(server_->models().Current()->snapshot().version(), first_);
  EXPECT_EQ(testutil::HealthCheck(server_->port()), testutil::kServing);
  EXPECT_EQ(Failures(), 1) << "a rejected version is not retried";
}

INSTANTIATE_TEST_SUITE_P(EveryKind, CorruptSnapshotTest,
                         ::testing::ValuesIn(kCorruptions),
                         [](const ::testing::TestParamInfo<Corruption>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace recserve::server
