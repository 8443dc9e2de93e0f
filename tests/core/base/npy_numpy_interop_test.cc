// Our .npy files are for people and other tools too: checks them against
// real NumPy (Debian's python3-numpy, installed by scripts/setup.sh).

#include <string>
#include <vector>

#include "core/base/file_util.h"
#include "core/base/npy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil/run_command.h"
#include "tests/testutil/temp_files.h"

namespace recserve {
namespace {

using testutil::RunCommand;

constexpr char kPython[] = "/usr/bin/python3";

TEST(NpyNumpyInteropTest, NumpyLoadsWhatWeWrite) {
  testutil::TempDir tmp;
  const std::string dir = tmp.path();
  const std::vector<float> factors = {1.5f, -2.25f, 3.0f, 0.125f, 5.0f, -6.5f};
  ASSERT_TRUE(WriteNpy<float>(dir + "/f.npy", factors, {2, 3}).ok());
  const std::vector<int64_t> offsets = {0, 4, 9};
  ASSERT_TRUE(WriteNpy<int64_t>(dir + "/o.npy", offsets, {3}).ok());
  auto result = RunCommand(
      {kPython, "-c",
       "import sys, numpy as np\n"
       "f = np.load(sys.argv[1] + '/f.npy'); o = np.load(sys.argv[1] + "
       "'/o.npy')\n"
       "print(f.dtype, f.shape, f.flags['C_CONTIGUOUS'], f[1, 2], f.sum(), "
       "o.dtype, o.tolist())",
       dir});
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out, "float32 (2, 3) True -6.5 0.875 int64 [0, 4, 9]\n");
}

TEST(NpyNumpyInteropTest, WeReadWhatNumpyWrites) {
  testutil::TempDir tmp;
  const std::string dir = tmp.path();
  auto result = RunCommand(
      {kPython, "-c",
       "import sys, numpy as np\n"
       "np.save(sys.argv[1] + '/f.npy', np.arange(12, dtype='<f4').reshape(4, "
       "3) / 4)\n"
       "np.save(sys.argv[1] + '/i.npy', np.array([7, -1, 3], dtype='<i4'))",
       dir});
  ASSERT_EQ(result.exit_code, 0) << result.out;

  auto bytes = ReadFileToString(dir + "/f.npy");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  auto f = ParseNpyAs(*bytes, "f.npy", NpyDtype::kFloat32, {4, 3});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_THAT(f->values<float>(),
              ::testing::ElementsAre(0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2,
                                     2.25, 2.5, 2.75));
  auto ibytes = ReadFileToString(dir + "/i.npy");
  ASSERT_TRUE(ibytes.ok());
  auto i = ParseNpyAs(*ibytes, "i.npy", NpyDtype::kInt32, {3});
  ASSERT_TRUE(i.ok()) << i.status();
  EXPECT_THAT(i->values<int32_t>(), ::testing::ElementsAre(7, -1, 3));
  // A float64 array, as numpy saves by default, is refused by name.
  ASSERT_EQ(RunCommand({kPython, "-c",
                        "import sys, numpy as np; np.save(sys.argv[1] + "
                        "'/d.npy', np.zeros(3))",
                        dir})
                .exit_code,
            0);
  auto dbytes = ReadFileToString(dir + "/d.npy");
  ASSERT_TRUE(dbytes.ok());
  auto d = ParseNpyAs(*dbytes, "d.npy", NpyDtype::kFloat32, {3});
  EXPECT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), ::testing::HasSubstr("<f8"));
}

}  // namespace
}  // namespace recserve
