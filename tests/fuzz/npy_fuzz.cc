// Fuzzes ParseNpy and ParseNpyAs: any bytes give a Status or an array view
// that lies inside the input and matches its shape exactly.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/base/npy.h"
#include "tests/fuzz/fuzz_support.h"

namespace recserve::fuzz {
namespace {

constexpr NpyDtype kDtypes[] = {NpyDtype::kFloat32, NpyDtype::kInt32,
                                NpyDtype::kInt64};

void CheckArray(absl::string_view bytes, const NpyArray& array) {
  FUZZ_CHECK(array.data.data() >= bytes.data());
  FUZZ_CHECK(array.data.data() + array.data.size() ==
             bytes.data() + bytes.size());
  int64_t elements = 1;
  for (int64_t dim : array.shape) {
    FUZZ_CHECK(dim >= 0);
    elements *= dim;
  }
  FUZZ_CHECK(elements == array.num_elements);
  FUZZ_CHECK(array.data.size() == static_cast<size_t>(array.num_elements) *
                                      NpyItemSize(array.dtype));
  FUZZ_CHECK(reinterpret_cast<uintptr_t>(array.data.data()) %
                 NpyItemSize(array.dtype) ==
             0);
  // Every element is readable: ASan checks the copy's whole source range.
  const std::string copy(array.data);
  FUZZ_CHECK(copy.size() == array.data.size());
}

void CheckNpy(const uint8_t* data, size_t size) {
  if (size < 1) return;
  // The reader requires the data aligned relative to the buffer start, as a
  // mapping is; copy so that the fuzzer's buffer alignment does not matter.
  std::vector<int64_t> storage((size - 1) / sizeof(int64_t) + 1);
  std::memcpy(storage.data(), data + 1, size - 1);
  const absl::string_view bytes(reinterpret_cast<const char*>(storage.data()),
                                size - 1);
  const absl::StatusOr<NpyArray> array = ParseNpy(bytes, "fuzz.npy");
  if (array.ok()) {
    CheckArray(bytes, *array);
  } else {
    FUZZ_CHECK(absl::string_view(array.status().message()).find("fuzz.npy") !=
               absl::string_view::npos);
  }
  // The first byte picks what a loader would expect.
  const uint8_t control = data[0];
  const int64_t rows = control & 0x0F;
  const absl::StatusOr<NpyArray> expected =
      ParseNpyAs(bytes, "fuzz.npy", kDtypes[(control >> 4) % 3],
                 (control & 0x80) != 0 ? std::vector<int64_t>{rows, kNpyAnyDim}
                                       : std::vector<int64_t>{rows});
  if (expected.ok()) {
    CheckArray(bytes, *expected);
    FUZZ_CHECK(expected->shape.size() == ((control & 0x80) != 0 ? 2u : 1u));
    FUZZ_CHECK(expected->shape[0] == rows);
  }
}

}  // namespace
}  // namespace recserve::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  recserve::fuzz::CheckNpy(data, size);
  return 0;
}
