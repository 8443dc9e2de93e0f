#ifndef RECSERVE_CORE_BASE_NPY_H_
#define RECSERVE_CORE_BASE_NPY_H_

// NumPy .npy files (format 1.0): the header NumPy writes, and a strict parser
// that turns a file's bytes into a typed, validated view without copying.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
//
// Only what snapshots need is supported: little-endian float32, int32 and
// int64 arrays in C order. All functions are thread-compatible free
// functions; views borrow the caller's bytes.

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace recserve {

enum class NpyDtype { kFloat32, kInt32, kInt64 };

// NumPy's descr string for `dtype`: "<f4", "<i4" or "<i8".
absl::string_view NpyDescr(NpyDtype dtype);
// Bytes per element: 4, 4 or 8.
size_t NpyItemSize(NpyDtype dtype);

template <typename T>
struct NpyDtypeOf;
template <>
struct NpyDtypeOf<float> {
  static constexpr NpyDtype value = NpyDtype::kFloat32;
};
template <>
struct NpyDtypeOf<int32_t> {
  static constexpr NpyDtype value = NpyDtype::kInt32;
};
template <>
struct NpyDtypeOf<int64_t> {
  static constexpr NpyDtype value = NpyDtype::kInt64;
};

// In an expected shape, matches any size along that axis.
inline constexpr int64_t kNpyAnyDim = -1;

// Formats a shape like Python prints a tuple: "()", "(5,)", "(943, 64)".
std::string NpyShapeString(absl::Span<const int64_t> shape);

// The complete header NumPy 1.24's np.save writes for a C-order array of
// `dtype` and `shape` (magic, version 1.0, length, dict, padding, '\n'); the
// array data follows it directly. Its size is a multiple of 64, so the data
// starts 64-byte aligned. Dimensions must be non-negative.
std::string MakeNpyHeader(NpyDtype dtype, absl::Span<const int64_t> shape);

// Writes `values` as a .npy file of `shape` (product of the dimensions must
// equal values.size()) and fsyncs it. Errors: InvalidArgument on a shape that
// does not match, else the I/O error.
template <typename T>
absl::Status WriteNpy(const std::string& path, absl::Span<const T> values,
                      absl::Span<const int64_t> shape);

// A parsed .npy file: a view into bytes owned by the caller.
struct NpyArray {
  NpyDtype dtype = NpyDtype::kFloat32;
  std::vector<int64_t> shape;
  int64_t num_elements = 0;
  // Exactly num_elements * NpyItemSize(dtype) bytes, aligned for dtype.
  absl::string_view data;

  // The elements as T. Requires NpyDtypeOf<T>::value == dtype (checked by
  // the Parse functions below when given an expected dtype); returns an empty
  // span on a dtype mismatch.
  template <typename T>
  absl::Span<const T> values() const {
    if (NpyDtypeOf<T>::value != dtype) return {};
    return absl::Span<const T>(reinterpret_cast<const T*>(data.data()),
                               static_cast<size_t>(num_elements));
  }
};

// Parses a whole .npy file held in `bytes` (e.g. a MappedFile). `name` is
// used to prefix every error message. Accepts format versions 1.0, 2.0 and
// 3.0; the header must be a dict with exactly the keys 'descr',
// 'fortran_order' and 'shape', descr one of the three supported dtypes,
// fortran_order False. The data must start aligned for its dtype relative to
// `bytes.data()`, and the file must be exactly header plus data in size.
// Errors: InvalidArgument for a malformed or unsupported header, DataLoss if
// the file is shorter or longer than header + data. Never reads outside
// `bytes`.
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes,
                                  absl::string_view name);

// ParseNpy, then checks the dtype and shape against what the caller expects
// (kNpyAnyDim matches any size on its axis). Errors as ParseNpy, plus
// InvalidArgument naming both sides, e.g. "user_factors.npy: expected shape
// (943, 64), found (943, 32)".
absl::StatusOr<NpyArray> ParseNpyAs(absl::string_view bytes,
                                    absl::string_view name,
                                    NpyDtype expected_dtype,
                                    absl::Span<const int64_t> expected_shape);

// Implementation detail of WriteNpy.
absl::Status WriteNpyBytes(const std::string& path, NpyDtype dtype,
                           absl::Span<const int64_t> shape,
                           absl::string_view data);

template <typename T>
absl::Status WriteNpy(const std::string& path, absl::Span<const T> values,
                      absl::Span<const int64_t> shape) {
  return WriteNpyBytes(
      path, NpyDtypeOf<T>::value, shape,
      absl::string_view(reinterpret_cast<const char*>(values.data()),
                        values.size() * sizeof(T)));
}

}  // namespace recserve

#endif  // RECSERVE_CORE_BASE_NPY_H_
