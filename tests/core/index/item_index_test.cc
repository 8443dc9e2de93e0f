#include "core/index/item_index.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/base/file_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Gaussian directions with lognormal norms, the shape of trained factors.
FactorMatrix HeavyTailedItems(int32_t n, int32_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::lognormal_distribution<float> norm(0.0f, 0.75f);
  FactorMatrix m(n, d);
  for (int32_t r = 0; r < n; ++r) {
    for (int32_t c = 0; c < d; ++c) m(r, c) = normal(rng);
    m.row(r) *= norm(rng) / m.row(r).norm();
  }
  return m;
}

std::vector<std::vector<float>> Queries(int32_t count, int32_t d,
                                        uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> out(count, std::vector<float>(d));
  for (auto& q : out) {
    for (float& v : q) v = normal(rng);
  }
  return out;
}

// The score in double, independent of the code under test.
double OracleScore(const FactorMatrix& items, int32_t item,
                   const std::vector<float>& q, IndexSpace space) {
  double dot = 0, qq = 0, vv = 0;
  for (size_t c = 0; c < q.size(); ++c) {
    dot += double{q[c]} * items(item, c);
    qq += double{q[c]} * q[c];
    vv += double{items(item, c)} * items(item, c);
  }
  if (space == IndexSpace::kInnerProduct) return dot;
  return qq == 0 || vv == 0 ? 0.0 : dot / std::sqrt(qq * vv);
}

std::vector<int32_t> Items(const std::vector<ScoredItem>& found) {
  std::vector<int32_t> out;
  for (const ScoredItem& n : found) out.push_back(n.item);
  return out;
}

std::string ReadAll(const std::string& path) {
  absl::StatusOr<std::string> bytes = ReadFileToString(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : "";
}

constexpr int32_t kItems = 5000;
constexpr int32_t kDims = 32;
constexpr int32_t kQueries = 200;

class ItemIndexRecallTest : public ::testing::TestWithParam<IndexSpace> {};

TEST_P(ItemIndexRecallTest, MatchesExactSearch) {
  const IndexSpace space = GetParam();
  const FactorMatrix items = HeavyTailedItems(kItems, kDims, 1);
  ItemIndexOptions options;
  options.threads = 2;
  absl::StatusOr<std::unique_ptr<ItemIndex>> index =
      ItemIndex::Build(items, space, options);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->size(), kItems);
  EXPECT_EQ((*index)->dimensions(), kDims);
  EXPECT_EQ((*index)->space(), space);

  int64_t hits = 0, narrow_hits = 0;
  for (const std::vector<float>& q : Queries(kQueries, kDims, 2)) {
    absl::StatusOr<std::vector<ScoredItem>> found =
        (*index)->Search(q, 10, 100);
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_EQ(found->size(), 10u);
    const std::vector<ScoredItem> exact = ExactNeighbors(items, space, q, 10);
    ASSERT_EQ(exact.size(), 10u);
    std::set<int32_t> truth;
    for (const ScoredItem& n : exact) truth.insert(n.item);
    for (size_t i = 0; i < found->size(); ++i) {
      const ScoredItem& n = (*found)[i];
      hits += truth.count(n.item);
      const double want = OracleScore(items, n.item, q, space);
      EXPECT_NEAR(n.score, want, 1e-5 * std::max(1.0, std::abs(want)));
      if (i > 0) {
        EXPECT_GE((*found)[i - 1].score, n.score);
      }
    }
    for (const ScoredItem& n : exact) {
      const double want = OracleScore(items, n.item, q, space);
      EXPECT_NEAR(n.score, want, 1e-5 * std::max(1.0, std::abs(want)));
    }
    // The breadth is per call: ef 10 finds fewer (0.81 / 0.67 measured).
    absl::StatusOr<std::vector<ScoredItem>> narrow =
        (*index)->Search(q, 10, 10);
    ASSERT_TRUE(narrow.ok()) << narrow.status();
    for (const ScoredItem& n : *narrow) narrow_hits += truth.count(n.item);
  }
  const double recall = static_cast<double>(hits) / (10.0 * kQueries);
  EXPECT_GE(recall, 0.98) << IndexSpaceName(space);
  EXPECT_LT(narrow_hits, hits - kQueries / 10);
}

INSTANTIATE_TEST_SUITE_P(Spaces, ItemIndexRecallTest,
                         ::testing::Values(IndexSpace::kInnerProduct,
                                           IndexSpace::kCosine),
                         [](const auto& info) {
                           return std::string(IndexSpaceName(info.param));
                         });

// Four items by hand: q = (1, 1).
//   item 0 (1, 0): dot 1, cos 1/√2;   item 1 (0, 2): dot 2, cos 1/√2;
//   item 2 (3, 3): dot 6, cos 1;      item 3 (-1, -1): dot -2, cos -1;
//   item 4 (0, 0): dot 0, cos 0.
FactorMatrix HandItems() {
  FactorMatrix m(5, 2);
  m << 1, 0, 0, 2, 3, 3, -1, -1, 0, 0;
  return m;
}

TEST(ItemIndexTest, HandComputedInnerProduct) {
  const FactorMatrix items = HandItems();
  const std::vector<float> q = {1, 1};
  auto index = ItemIndex::Build(items, IndexSpace::kInnerProduct, {});
  ASSERT_TRUE(index.ok()) << index.status();
  auto found = (*index)->Search(q, 5, 10);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(Items(*found), ElementsAre(2, 1, 0, 4, 3));
  EXPECT_FLOAT_EQ((*found)[0].score, 6.0f);
  EXPECT_FLOAT_EQ((*found)[4].score, -2.0f);
  const auto exact = ExactNeighbors(items, IndexSpace::kInnerProduct, q, 3);
  EXPECT_THAT(Items(exact), ElementsAre(2, 1, 0));
  EXPECT_FLOAT_EQ(exact[1].score, 2.0f);
}

TEST(ItemIndexTest, HandComputedCosineBreaksTiesToLowerItem) {
  const FactorMatrix items = HandItems();
  const std::vector<float> q = {2, 2};
  auto index = ItemIndex::Build(items, IndexSpace::kCosine, {});
  ASSERT_TRUE(index.ok()) << index.status();
  auto found = (*index)->Search(q, 5, 10);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(Items(*found), ElementsAre(2, 0, 1, 4, 3));
  EXPECT_NEAR((*found)[0].score, 1.0f, 1e-6);
  EXPECT_NEAR((*found)[1].score, std::sqrt(0.5f), 1e-6);
  EXPECT_EQ((*found)[1].score, (*found)[2].score);
  EXPECT_EQ((*found)[3].score, 0.0f);  // the zero row
  EXPECT_NEAR((*found)[4].score, -1.0f, 1e-6);
  const auto exact = ExactNeighbors(items, IndexSpace::kCosine, q, 5);
  EXPECT_THAT(Items(exact), ElementsAre(2, 0, 1, 4, 3));
}

TEST(ItemIndexTest, KLargerThanSizeReturnsEveryItemAsExact) {
  const FactorMatrix items = HeavyTailedItems(60, 8, 3);
  auto index = ItemIndex::Build(items, IndexSpace::kInnerProduct, {});
  ASSERT_TRUE(index.ok()) << index.status();
  for (const std::vector<float>& q : Queries(5, 8, 4)) {
    auto found = (*index)->Search(q, 1000, 1);
    ASSERT_TRUE(found.ok()) << found.status();
    const auto exact =
        ExactNeighbors(items, IndexSpace::kInnerProduct, q, 1000);
    ASSERT_EQ(found->size(), 60u);
    ASSERT_EQ(exact.size(), 60u);
    for (size_t i = 0; i < exact.size(); ++i) {
      EXPECT_EQ((*found)[i].item, exact[i].item) << i;
      EXPECT_EQ((*found)[i].score, exact[i].score) << i;
    }
  }
}

TEST(ItemIndexTest, SingleItemBuildsSearchesSavesAndLoads) {
  FactorMatrix one(1, 3);
  one << 1, 2, 3;
  auto index = ItemIndex::Build(one, IndexSpace::kInnerProduct, {});
  ASSERT_TRUE(index.ok()) << index.status();
  auto found = (*index)->Search({1, 0, 1}, 5, 1);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].item, 0);
  EXPECT_EQ((*found)[0].score, 4.0f);
  testutil::TempDir tmp;
  ASSERT_TRUE((*index)->Save(tmp.Path("one.hnsw")).ok());
  auto loaded =
      ItemIndex::Load(tmp.Path("one.hnsw"), one, IndexSpace::kInnerProduct);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->Search({1, 0, 1}, 5, 1)->size(), 1u);
}

TEST(ItemIndexTest, ExactNeighborsEdgeCases) {
  const FactorMatrix items = HandItems();
  const std::vector<float> q = {1, 1};
  EXPECT_TRUE(ExactNeighbors(items, IndexSpace::kInnerProduct, q, 0).empty());
  EXPECT_TRUE(
      ExactNeighbors(items, IndexSpace::kInnerProduct, {1, 1, 1}, 3).empty());
  EXPECT_EQ(ExactNeighbors(items, IndexSpace::kInnerProduct, q, 99).size(), 5u);
}

TEST(ItemIndexTest, BadArgumentsAreInvalid) {
  const FactorMatrix items = HandItems();
  EXPECT_EQ(ItemIndex::Build(FactorMatrix(0, 4), IndexSpace::kInnerProduct, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ItemIndex::Build(FactorMatrix(3, 0), IndexSpace::kCosine, {})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  FactorMatrix nan = items;
  nan(1, 1) = std::nanf("");
  EXPECT_EQ(
      ItemIndex::Build(nan, IndexSpace::kInnerProduct, {}).status().code(),
      absl::StatusCode::kInvalidArgument);
  for (ItemIndexOptions bad :
       {ItemIndexOptions{.m = 1}, ItemIndexOptions{.m = 10001},
        ItemIndexOptions{.ef_construction = 0},
        ItemIndexOptions{.threads = -1}}) {
    EXPECT_EQ(
        ItemIndex::Build(items, IndexSpace::kInnerProduct, bad).status().code(),
        absl::StatusCode::kInvalidArgument);
  }
  auto index = ItemIndex::Build(items, IndexSpace::kInnerProduct, {});
  ASSERT_TRUE(index.ok()) << index.status();
  const std::vector<float> q = {1, 1};
  EXPECT_EQ((*index)->Search({1, 1, 1}, 3, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Search(q, 0, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Search(q, 3, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Search({1, INFINITY}, 3, 10).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A saved index file split into its parts (see the format in item_index.cc).
struct IndexFile {
  nlohmann::json header;
  std::string payload;

  static IndexFile Parse(const std::string& bytes) {
    IndexFile f;
    uint32_t size;
    std::memcpy(&size, bytes.data() + 14, 4);
    f.header = nlohmann::json::parse(bytes.substr(18, size));
    f.payload = bytes.substr(18 + size + 4);
    return f;
  }
  // Re-encodes with fresh CRC-32s: a consistent file with whatever content.
  std::string Encode() {
    header["payload_crc32"] = Crc32(payload);
    const std::string json = header.dump();
    const uint32_t size = static_cast<uint32_t>(json.size());
    std::string out = "recserve-hnsw\n";
    out.append(reinterpret_cast<const char*>(&size), 4);
    out += json;
    const uint32_t crc = Crc32(out);
    out.append(reinterpret_cast<const char*>(&crc), 4);
    return out + payload;
  }
};

class ItemIndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    items_ = HeavyTailedItems(400, 8, 5);
    ItemIndexOptions options;
    options.m = 6;
    options.ef_construction = 40;
    options.threads = 1;
    options.seed = 9;
    auto built = ItemIndex::Build(items_, IndexSpace::kCosine, options);
    ASSERT_TRUE(built.ok()) << built.status();
    index_ = std::move(built).value();
    path_ = tmp_.Path("items.hnsw");
    ASSERT_TRUE(index_->Save(path_).ok());
    bytes_ = ReadAll(path_);
  }

  absl::Status LoadBytes(const std::string& bytes) {
    testutil::WriteFile(path_, bytes);
    return ItemIndex::Load(path_, items_, IndexSpace::kCosine).status();
  }

  testutil::TempDir tmp_;
  FactorMatrix items_;
  std::unique_ptr<ItemIndex> index_;
  std::string path_;
  std::string bytes_;
};

TEST_F(ItemIndexFileTest, SaveThenLoadSearchesIdentically) {
  auto loaded = ItemIndex::Load(path_, items_, IndexSpace::kCosine);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->size(), 400);
  EXPECT_EQ((*loaded)->dimensions(), 8);
  EXPECT_EQ((*loaded)->space(), IndexSpace::kCosine);
  EXPECT_EQ((*loaded)->options().m, 6);
  EXPECT_EQ((*loaded)->options().ef_construction, 40);
  EXPECT_EQ((*loaded)->options().threads, 1);
  EXPECT_EQ((*loaded)->options().seed, 9u);
  for (const std::vector<float>& q : Queries(50, 8, 6)) {
    for (int32_t ef : {1, 20}) {
      auto a = index_->Search(q, 10, ef);
      auto b = (*loaded)->Search(q, 10, ef);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->size(), b->size());
      for (size_t i = 0; i < a->size(); ++i) {
        EXPECT_EQ((*a)[i].item, (*b)[i].item);
        EXPECT_EQ((*a)[i].score, (*b)[i].score);
      }
    }
  }
  // Saving the loaded index writes the same bytes; no temporary files stay.
  ASSERT_TRUE((*loaded)->Save(path_).ok());
  EXPECT_EQ(ReadAll(path_), bytes_);
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp_.path())) {
    EXPECT_EQ(e.path().filename(), "items.hnsw");
    ++files;
  }
  EXPECT_EQ(files, 1);
}

TEST_F(ItemIndexFileTest, EveryFlippedByteIsDataLoss) {
  const size_t header_end =
      bytes_.size() - IndexFile::Parse(bytes_).payload.size();
  int checked = 0;
  for (size_t pos = 0; pos < bytes_.size(); pos += pos < header_end ? 1 : 97) {
    std::string bad = bytes_;
    bad[pos] ^= 0x10;
    absl::Status s = LoadBytes(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << pos << ": " << s;
    EXPECT_THAT(s.message(), HasSubstr(path_));
    ++checked;
  }
  EXPECT_GT(checked, 500);
}

TEST_F(ItemIndexFileTest, TruncatedOrExtendedIsDataLoss) {
  for (size_t size : {size_t{0}, size_t{10}, size_t{17}, size_t{100},
                      bytes_.size() / 2, bytes_.size() - 1}) {
    absl::Status s = LoadBytes(bytes_.substr(0, size));
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << size << ": " << s;
  }
  EXPECT_EQ(LoadBytes(bytes_ + "x").code(), absl::StatusCode::kDataLoss);
}

TEST_F(ItemIndexFileTest, ConsistentButInvalidGraphIsDataLoss) {
  // The re-encoder itself yields a loadable file ...
  EXPECT_TRUE(LoadBytes(IndexFile::Parse(bytes_).Encode()).ok());
  // ... but not with a level-0 neighbour id out of range (after hnswlib's
  // 96-byte header, element 0's list count, then its first neighbour) ...
  IndexFile f = IndexFile::Parse(bytes_);
  const uint32_t bad_id = 400;
  std::memcpy(f.payload.data() + 96 + 4, &bad_id, 4);
  absl::Status s = LoadBytes(f.Encode());
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("bad links of element 0"));
  // ... nor with a list count beyond 2m.
  f = IndexFile::Parse(bytes_);
  const uint32_t bad_count = 13;
  std::memcpy(f.payload.data() + 96, &bad_count, 4);
  EXPECT_EQ(LoadBytes(f.Encode()).code(), absl::StatusCode::kDataLoss);
  // A different graph layout (m) than the header says.
  f = IndexFile::Parse(bytes_);
  f.header["m"] = 7;
  EXPECT_EQ(LoadBytes(f.Encode()).code(), absl::StatusCode::kDataLoss);
}

TEST_F(ItemIndexFileTest, NewerFormatIsFailedPrecondition) {
  IndexFile f = IndexFile::Parse(bytes_);
  f.header["format_version"] = 2;
  absl::Status s = LoadBytes(f.Encode());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
}

TEST_F(ItemIndexFileTest, OtherShapeSpaceOrVectorsIsInvalidArgument) {
  auto code = [&](const FactorMatrix& m, IndexSpace space) {
    return ItemIndex::Load(path_, m, space).status().code();
  };
  EXPECT_EQ(code(items_, IndexSpace::kInnerProduct),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(items_.topRows(399), IndexSpace::kCosine),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(items_.leftCols(7), IndexSpace::kCosine),
            absl::StatusCode::kInvalidArgument);
  FactorMatrix changed = items_;
  changed(123, 4) += 0.5f;
  absl::Status s =
      ItemIndex::Load(path_, changed, IndexSpace::kCosine).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("other vectors"));
}

TEST_F(ItemIndexFileTest, MissingIsNotFound) {
  absl::Status s =
      ItemIndex::Load(tmp_.Path("none.hnsw"), items_, IndexSpace::kCosine)
          .status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr("none.hnsw"));
  // Saving into a missing folder fails and leaves nothing behind.
  EXPECT_EQ(index_->Save(tmp_.Path("no/such/dir/x.hnsw")).code(),
            absl::StatusCode::kNotFound);
}

TEST(ItemIndexTest, ConcurrentSearchesMatchSerial) {
  const FactorMatrix items = HeavyTailedItems(2000, 16, 7);
  auto index = ItemIndex::Build(items, IndexSpace::kInnerProduct, {});
  ASSERT_TRUE(index.ok()) << index.status();
  const auto queries = Queries(200, 16, 8);
  std::vector<std::vector<ScoredItem>> serial;
  for (const auto& q : queries) serial.push_back(*(*index)->Search(q, 20, 40));
  std::vector<std::vector<std::vector<ScoredItem>>> parallel(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) {
        for (const auto& q : queries) {
          parallel[t].push_back(*(*index)->Search(q, 20, 40));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 4; ++t) {
    ASSERT_EQ(parallel[t].size(), 3 * queries.size());
    for (size_t i = 0; i < parallel[t].size(); ++i) {
      const auto& want = serial[i % queries.size()];
      ASSERT_EQ(Items(parallel[t][i]), Items(want));
    }
  }
}

}  // namespace
}  // namespace recserve
