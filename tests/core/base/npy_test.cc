#include "core/base/npy.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using ::testing::HasSubstr;

// np.save(f, np.array([[1.5, -2], [0.25, 3]], dtype='<f4')) with NumPy 1.24.
constexpr char kNumpyFloat2x2Hex[] =
    "934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f"
    "6f72646572273a2046616c73652c20277368617065273a2028322c2032292c207d202020"
    "202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020202020202020202020202020202020200a0000c03f000000c00000803e00004040";
// np.save(f, np.array([7, -1, 2**40], dtype='<i8')).
constexpr char kNumpyInt64Hex[] =
    "934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f"
    "6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020"
    "202020202020202020202020202020202020202020202020202020202020202020202020"
    "202020202020202020202020202020202020200a0700000000000000ffffffffffffffff"
    "0000000000010000";

// A .npy file built by hand: prefix, the given dict (padded to 64 bytes with
// spaces and '\n'), then `data`.
std::string HandMadeNpy(const std::string& dict, const std::string& data) {
  size_t total = 10 + dict.size() + 1;
  size_t pad = (64 - total % 64) % 64;
  size_t len = dict.size() + pad + 1;
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(len & 0xff));
  out.push_back(static_cast<char>(len >> 8));
  out += dict + std::string(pad, ' ') + "\n" + data;
  return out;
}

std::string FloatBytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()),
                     v.size() * sizeof(float));
}

TEST(NpyTest, HeaderMatchesNumpyByteForByte) {
  std::vector<float> values = {1.5f, -2.0f, 0.25f, 3.0f};
  std::string file =
      MakeNpyHeader(NpyDtype::kFloat32, {2, 2}) + FloatBytes(values);
  EXPECT_EQ(absl::BytesToHexString(file), kNumpyFloat2x2Hex);

  std::vector<int64_t> ints = {7, -1, int64_t{1} << 40};
  std::string int_file =
      MakeNpyHeader(NpyDtype::kInt64, {3}) +
      std::string(reinterpret_cast<const char*>(ints.data()), 24);
  EXPECT_EQ(absl::BytesToHexString(int_file), kNumpyInt64Hex);
}

TEST(NpyTest, HeaderIsPaddedTo64BytesForManyShapes) {
  for (std::vector<int64_t> shape : {std::vector<int64_t>{},
                                     {0},
                                     {1},
                                     {943, 64},
                                     {123456789012, 3},
                                     {1, 2, 3, 4, 5},
                                     {99999999999999}}) {
    std::string header = MakeNpyHeader(NpyDtype::kInt32, shape);
    EXPECT_EQ(header.size() % 64, 0u) << NpyShapeString(shape);
    EXPECT_EQ(header.back(), '\n');
    EXPECT_THAT(header, HasSubstr(absl::StrCat(
                            "'shape': ", NpyShapeString(shape), ", }")));
  }
}

TEST(NpyTest, ShapeStringLooksLikePython) {
  EXPECT_EQ(NpyShapeString({}), "()");
  EXPECT_EQ(NpyShapeString({5}), "(5,)");
  EXPECT_EQ(NpyShapeString({943, 64}), "(943, 64)");
}

TEST(NpyTest, ParsesNumpyWrittenFiles) {
  std::string file = absl::HexStringToBytes(kNumpyFloat2x2Hex);
  absl::StatusOr<NpyArray> a =
      ParseNpyAs(file, "m.npy", NpyDtype::kFloat32, {2, 2});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_THAT(a->values<float>(),
              ::testing::ElementsAre(1.5f, -2.0f, 0.25f, 3.0f));
  std::string ints = absl::HexStringToBytes(kNumpyInt64Hex);
  absl::StatusOr<NpyArray> b =
      ParseNpyAs(ints, "i.npy", NpyDtype::kInt64, {kNpyAnyDim});
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_THAT(b->values<int64_t>(),
              ::testing::ElementsAre(7, -1, int64_t{1} << 40));
  // Typed access with the wrong type gives nothing rather than garbage.
  EXPECT_TRUE(b->values<int32_t>().empty());
}

TEST(NpyTest, WriteThenParseRoundTrip) {
  testutil::TempDir tmp;
  std::string dir = tmp.path();
  std::vector<int32_t> values(3 * 5);
  for (size_t i = 0; i < values.size(); ++i) values[i] = int32_t(i * 37) - 100;
  std::string path = dir + "/a.npy";
  ASSERT_TRUE(WriteNpy<int32_t>(path, values, {3, 5}).ok());
  std::string bytes = testutil::ReadFile(path);
  EXPECT_EQ(bytes.size(), 128u + values.size() * 4);  // 64-aligned header
  absl::StatusOr<NpyArray> a =
      ParseNpyAs(bytes, "a.npy", NpyDtype::kInt32, {3, 5});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->data.data() - bytes.data(), 128);
  EXPECT_EQ(std::vector<int32_t>(a->values<int32_t>().begin(),
                                 a->values<int32_t>().end()),
            values);
}

TEST(NpyTest, WriteRejectsShapeThatDoesNotMatchData) {
  testutil::TempDir tmp;
  std::string dir = tmp.path();
  std::vector<float> values(5);
  absl::Status s = WriteNpy<float>(dir + "/x.npy", values, {2, 3});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(NpyTest, ZeroSizedAndScalarArrays) {
  std::string empty = MakeNpyHeader(NpyDtype::kFloat32, {0, 8});
  absl::StatusOr<NpyArray> a =
      ParseNpyAs(empty, "e.npy", NpyDtype::kFloat32, {0, 8});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->num_elements, 0);
  std::string scalar = MakeNpyHeader(NpyDtype::kInt64, {}) + std::string(8, 0);
  absl::StatusOr<NpyArray> s =
      ParseNpyAs(scalar, "s.npy", NpyDtype::kInt64, {});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->num_elements, 1);
}

struct BadCase {
  std::string label;
  std::string bytes;
  absl::StatusCode code;
  std::string message;
};

TEST(NpyTest, RejectsBadFilesWithMessagesNamingTheFile) {
  const std::string data = FloatBytes({1, 2, 3, 4, 5, 6});
  const std::string good = MakeNpyHeader(NpyDtype::kFloat32, {2, 3}) + data;
  std::vector<BadCase> cases = {
      {"wrong dtype",
       HandMadeNpy(
           "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
           data + data),
       absl::StatusCode::kInvalidArgument, "unsupported dtype '<f8'"},
      {"big endian",
       HandMadeNpy(
           "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", data),
       absl::StatusCode::kInvalidArgument, "unsupported dtype '>f4'"},
      {"fortran order",
       HandMadeNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                   data),
       absl::StatusCode::kInvalidArgument, "Fortran order"},
      {"truncated data", good.substr(0, good.size() - 3),
       absl::StatusCode::kDataLoss, "truncated"},
      {"extra data", good + "xyz", absl::StatusCode::kDataLoss,
       "bytes, expected 152"},
      {"truncated header", good.substr(0, 40), absl::StatusCode::kDataLoss,
       "truncated .npy header"},
      {"tiny file", good.substr(0, 3), absl::StatusCode::kDataLoss,
       "truncated"},
      {"bad magic", "PK\x03\x04" + good.substr(4),
       absl::StatusCode::kInvalidArgument, "bad magic"},
      {"version 9", good.substr(0, 6) + "\x09" + good.substr(7),
       absl::StatusCode::kInvalidArgument, "format version 9.0"},
      {"missing key", HandMadeNpy("{'descr': '<f4', 'shape': (2, 3), }", data),
       absl::StatusCode::kInvalidArgument, "missing one of"},
      {"unknown key",
       HandMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "
                   "'extra': 1}",
                   data),
       absl::StatusCode::kInvalidArgument, "unexpected key 'extra'"},
      {"duplicate key",
       HandMadeNpy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                   "'shape': (2, 3)}",
                   data),
       absl::StatusCode::kInvalidArgument, "duplicate key 'descr'"},
      {"negative dim",
       HandMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}",
                   data),
       absl::StatusCode::kInvalidArgument, "non-negative int"},
      {"int not tuple",
       HandMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (6)}",
                   data),
       absl::StatusCode::kInvalidArgument, "not a tuple"},
      {"huge dims",
       HandMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': "
                   "(281474976710656, 281474976710656, 281474976710656)}",
                   data),
       absl::StatusCode::kInvalidArgument, "too large"},
      {"enormous dim",
       HandMadeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': "
                   "(99999999999999999999999999,)}",
                   data),
       absl::StatusCode::kInvalidArgument, "dimension too large"},
      {"no newline", good.substr(0, 127) + " " + good.substr(128),
       absl::StatusCode::kInvalidArgument, "newline"},
      {"trailing garbage",
       HandMadeNpy(
           "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", data),
       absl::StatusCode::kInvalidArgument, "after '}'"},
      {"unterminated string",
       HandMadeNpy("{'descr: '<f4', 'fortran_order': False, 'shape': (2, 3)}",
                   data),
       absl::StatusCode::kInvalidArgument, "malformed .npy header"},
  };
  for (const BadCase& c : cases) {
    absl::StatusOr<NpyArray> a =
        ParseNpyAs(c.bytes, "dir/x.npy", NpyDtype::kFloat32, {2, 3});
    ASSERT_FALSE(a.ok()) << c.label;
    EXPECT_EQ(a.status().code(), c.code) << c.label << ": " << a.status();
    EXPECT_THAT(a.status().message(), HasSubstr("dir/x.npy: ")) << c.label;
    EXPECT_THAT(a.status().message(), HasSubstr(c.message))
        << c.label << ": " << a.status();
  }
}

TEST(NpyTest, ExpectationMismatchesNameBothSides) {
  const std::string file = MakeNpyHeader(NpyDtype::kFloat32, {943, 32}) +
                           std::string(943 * 32 * 4, '\0');
  absl::StatusOr<NpyArray> a =
      ParseNpyAs(file, "user_factors.npy", NpyDtype::kFloat32, {943, 64});
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(),
            "user_factors.npy: expected shape (943, 64), found (943, 32)");
  a = ParseNpyAs(file, "user_factors.npy", NpyDtype::kInt32, {943, 32});
  EXPECT_EQ(a.status().message(),
            "user_factors.npy: expected dtype '<i4' (int32), found '<f4' "
            "(float32)");
  a = ParseNpyAs(file, "f.npy", NpyDtype::kFloat32, {943});
  EXPECT_EQ(a.status().message(),
            "f.npy: expected shape (943,), found (943, 32)");
  EXPECT_TRUE(
      ParseNpyAs(file, "f.npy", NpyDtype::kFloat32, {kNpyAnyDim, 32}).ok());
}

TEST(NpyTest, AcceptsHeaderVariationsNumpyCouldWrite) {
  const std::string data = FloatBytes({1, 2, 3, 4, 5, 6});
  // Older NumPy: no trailing comma, no growth padding; double quotes.
  for (std::string dict :
       {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
        "{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"<f4\"}",
        "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , "
        "}"}) {
    absl::StatusOr<NpyArray> a = ParseNpyAs(HandMadeNpy(dict, data), "x.npy",
                                            NpyDtype::kFloat32, {2, 3});
    EXPECT_TRUE(a.ok()) << dict << ": " << a.status();
  }
}

TEST(NpyTest, NeverReadsOutOfBoundsOnTruncations) {
  // Every prefix of a valid file must fail cleanly (ASan/valgrind would flag
  // an overread; here we just check no prefix is accepted).
  const std::string good =
      MakeNpyHeader(NpyDtype::kInt32, {4}) + std::string(16, '\x01');
  for (size_t n = 0; n < good.size(); ++n) {
    std::string prefix = good.substr(0, n);  // own allocation, exact size
    EXPECT_FALSE(ParseNpy(prefix, "p.npy").ok()) << n;
  }
  EXPECT_TRUE(ParseNpy(good, "p.npy").ok());
}

}  // namespace
}  // namespace recserve
