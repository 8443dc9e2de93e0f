#include "core/base/npy.h"

#include <bit>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/base/file_util.h"

namespace recserve {
namespace {

static_assert(std::endian::native == std::endian::little,
              "snapshots are written in the host byte order, little-endian");

constexpr absl::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kAlign = 64;         // NumPy's ARRAY_ALIGN
constexpr size_t kGrowthDigits = 21;  // NumPy's GROWTH_AXIS_MAX_DIGITS
constexpr int64_t kMaxDim = int64_t{1} << 48;

absl::Status HeaderError(absl::string_view name, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(name, ": malformed .npy header: ", what));
}

// A strict reader of the Python-literal dict in a .npy header.
class DictParser {
 public:
  DictParser(absl::string_view text, absl::string_view name)
      : text_(text), name_(name) {}

  absl::Status Parse(std::string* descr, bool* fortran_order,
                     std::vector<int64_t>* shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    SkipSpace();
    if (!Consume('{')) return Error("expected '{'");
    while (true) {
      SkipSpace();
      if (Consume('}')) break;
      std::string key;
      if (!ParseString(&key)) return Error("expected a quoted key");
      SkipSpace();
      if (!Consume(':')) return Error("expected ':' after key");
      SkipSpace();
      if (key == "descr") {
        if (have_descr) return Error("duplicate key 'descr'");
        have_descr = true;
        if (!ParseString(descr)) return Error("'descr' is not a string");
      } else if (key == "fortran_order") {
        if (have_fortran) return Error("duplicate key 'fortran_order'");
        have_fortran = true;
        if (ConsumeWord("True")) {
          *fortran_order = true;
        } else if (ConsumeWord("False")) {
          *fortran_order = false;
        } else {
          return Error("'fortran_order' is not True or False");
        }
      } else if (key == "shape") {
        if (have_shape) return Error("duplicate key 'shape'");
        have_shape = true;
        if (absl::Status s = ParseShape(shape); !s.ok()) return s;
      } else {
        return Error(absl::StrCat("unexpected key '", key, "'"));
      }
      SkipSpace();
      if (Consume(',')) continue;
      SkipSpace();
      if (Consume('}')) break;
      return Error("expected ',' or '}'");
    }
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected text after '}'");
    if (!have_descr || !have_fortran || !have_shape) {
      return Error("missing one of 'descr', 'fortran_order', 'shape'");
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return HeaderError(name_, absl::StrCat(what, " at offset ", pos_));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(text_[pos_])) ++pos_;
  }
  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool ConsumeWord(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  // A '...' or "..." literal without escapes (NumPy never writes any here).
  bool ParseString(std::string* out) {
    if (pos_ >= text_.size()) return false;
    char quote = text_[pos_];
    if (quote != '\'' && quote != '"') return false;
    size_t end = text_.find(quote, pos_ + 1);
    if (end == absl::string_view::npos) return false;
    absl::string_view body = text_.substr(pos_ + 1, end - pos_ - 1);
    if (body.find('\\') != absl::string_view::npos) return false;
    out->assign(body.data(), body.size());
    pos_ = end + 1;
    return true;
  }
  absl::Status ParseShape(std::vector<int64_t>* shape) {
    shape->clear();
    if (!Consume('(')) return Error("'shape' is not a tuple");
    bool trailing_comma = false;
    while (true) {
      SkipSpace();
      if (Consume(')')) break;
      if (pos_ >= text_.size() || !absl::ascii_isdigit(text_[pos_])) {
        return Error("'shape' holds something other than a non-negative int");
      }
      int64_t dim = 0;
      while (pos_ < text_.size() && absl::ascii_isdigit(text_[pos_])) {
        dim = dim * 10 + (text_[pos_] - '0');
        if (dim > kMaxDim) return Error("'shape' dimension too large");
        ++pos_;
      }
      shape->push_back(dim);
      SkipSpace();
      trailing_comma = Consume(',');
      if (!trailing_comma) {
        SkipSpace();
        if (Consume(')')) break;
        return Error("expected ',' or ')' in 'shape'");
      }
    }
    // Python needs "(5,)" for a 1-tuple; "(5)" is an int.
    if (shape->size() == 1 && !trailing_comma) {
      return Error("'shape' is not a tuple");
    }
    return absl::OkStatus();
  }

  absl::string_view text_;
  absl::string_view name_;
  size_t pos_ = 0;
};

bool DtypeFromDescr(absl::string_view descr, NpyDtype* dtype) {
  for (NpyDtype d : {NpyDtype::kFloat32, NpyDtype::kInt32, NpyDtype::kInt64}) {
    if (descr == NpyDescr(d)) {
      *dtype = d;
      return true;
    }
  }
  return false;
}

absl::string_view DtypeName(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kFloat32:
      return "float32";
    case NpyDtype::kInt32:
      return "int32";
    case NpyDtype::kInt64:
      return "int64";
  }
  return "?";
}

uint32_t ReadLe(absl::string_view bytes, size_t offset, size_t width) {
  uint32_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i]))
         << (8 * i);
  }
  return v;
}

}  // namespace

absl::string_view NpyDescr(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kFloat32:
      return "<f4";
    case NpyDtype::kInt32:
      return "<i4";
    case NpyDtype::kInt64:
      return "<i8";
  }
  return "";
}

size_t NpyItemSize(NpyDtype dtype) { return dtype == NpyDtype::kInt64 ? 8 : 4; }

std::string NpyShapeString(absl::Span<const int64_t> shape) {
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

std::string MakeNpyHeader(NpyDtype dtype, absl::Span<const int64_t> shape) {
  std::string dict = absl::StrCat(
      "{'descr': '", NpyDescr(dtype),
      "', 'fortran_order': False, 'shape': ", NpyShapeString(shape), ", }");
  if (!shape.empty()) {
    size_t digits = absl::StrCat(shape[0]).size();
    if (digits < kGrowthDigits) dict.append(kGrowthDigits - digits, ' ');
  }
  // magic (6) + version (2) + length (2) + dict + padding + '\n'
  size_t hlen = dict.size() + 1;
  size_t padlen = kAlign - ((kMagic.size() + 2 + 2 + hlen) % kAlign);
  size_t total_dict = hlen + padlen;
  std::string header(kMagic);
  header.push_back('\x01');
  header.push_back('\x00');
  header.push_back(static_cast<char>(total_dict & 0xff));
  header.push_back(static_cast<char>((total_dict >> 8) & 0xff));
  header.append(dict);
  header.append(padlen, ' ');
  header.push_back('\n');
  return header;
}

absl::Status WriteNpyBytes(const std::string& path, NpyDtype dtype,
                           absl::Span<const int64_t> shape,
                           absl::string_view data) {
  uint64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 0) return absl::InvalidArgumentError(path + ": negative dimension");
    elements *= static_cast<uint64_t>(d);
  }
  if (elements * NpyItemSize(dtype) != data.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": shape ", NpyShapeString(shape), " needs ", elements,
        " elements, got ", data.size() / NpyItemSize(dtype)));
  }
  std::string header = MakeNpyHeader(dtype, shape);
  absl::string_view pieces[] = {header, data};
  return WriteFileDurably(path, pieces);
}

absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes,
                                  absl::string_view name) {
  if (bytes.size() < kMagic.size() + 2 ||
      bytes.substr(0, kMagic.size()) != kMagic) {
    if (bytes.size() < kMagic.size() + 2 &&
        kMagic.substr(0, bytes.size()) == bytes) {
      return absl::DataLossError(absl::StrCat(name, ": truncated .npy file (",
                                              bytes.size(), " bytes)"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": not a .npy file (bad magic bytes)"));
  }
  unsigned major = static_cast<unsigned char>(bytes[6]);
  unsigned minor = static_cast<unsigned char>(bytes[7]);
  if (minor != 0 || major < 1 || major > 3) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": unsupported .npy format version ", major, ".",
                     minor, " (supported: 1.0, 2.0, 3.0)"));
  }
  size_t len_width = major == 1 ? 2 : 4;
  size_t dict_start = kMagic.size() + 2 + len_width;
  if (bytes.size() < dict_start) {
    return absl::DataLossError(absl::StrCat(name, ": truncated .npy header"));
  }
  size_t dict_len = ReadLe(bytes, kMagic.size() + 2, len_width);
  if (dict_len > bytes.size() - dict_start) {
    return absl::DataLossError(absl::StrCat(
        name, ": truncated .npy header (header says ", dict_len,
        " bytes, file has ", bytes.size() - dict_start, " after the prefix)"));
  }
  absl::string_view dict = bytes.substr(dict_start, dict_len);
  if (dict.empty() || dict.back() != '\n') {
    return HeaderError(name, "does not end with a newline");
  }
  std::string descr;
  bool fortran_order = false;
  NpyArray array;
  DictParser parser(dict, name);
  if (absl::Status s = parser.Parse(&descr, &fortran_order, &array.shape);
      !s.ok()) {
    return s;
  }
  if (!DtypeFromDescr(descr, &array.dtype)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": unsupported dtype '", descr,
                     "' (supported: '<f4' float32, '<i4' int32, '<i8' int64)"));
  }
  if (fortran_order) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": array is in Fortran order; only C order is supported"));
  }
  size_t item = NpyItemSize(array.dtype);
  uint64_t elements = 1;
  for (int64_t d : array.shape) {
    // Each d <= 2^48; stop before the product can overflow.
    if (d != 0 && elements > (uint64_t{1} << 60) / static_cast<uint64_t>(d)) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": shape ", NpyShapeString(array.shape), " is too large"));
    }
    elements *= static_cast<uint64_t>(d);
  }
  size_t data_offset = dict_start + dict_len;
  uint64_t expected_size = data_offset + elements * item;
  if (bytes.size() != expected_size) {
    return absl::DataLossError(absl::StrCat(
        name, ": file has ", bytes.size(), " bytes, expected ", expected_size,
        " (", data_offset, " header + ", elements, " x ", item,
        " data bytes for shape ", NpyShapeString(array.shape), ")",
        bytes.size() < expected_size ? "; truncated" : ""));
  }
  const char* data = bytes.data() + data_offset;
  if (reinterpret_cast<uintptr_t>(data) % item != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": array data at offset ", data_offset,
                     " is not aligned to ", item, " bytes"));
  }
  array.num_elements = static_cast<int64_t>(elements);
  array.data = absl::string_view(data, elements * item);
  return array;
}

absl::StatusOr<NpyArray> ParseNpyAs(absl::string_view bytes,
                                    absl::string_view name,
                                    NpyDtype expected_dtype,
                                    absl::Span<const int64_t> expected_shape) {
  absl::StatusOr<NpyArray> array = ParseNpy(bytes, name);
  if (!array.ok()) return array.status();
  if (array->dtype != expected_dtype) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, ": expected dtype '", NpyDescr(expected_dtype), "' (",
        DtypeName(expected_dtype), "), found '", NpyDescr(array->dtype), "' (",
        DtypeName(array->dtype), ")"));
  }
  bool match = array->shape.size() == expected_shape.size();
  for (size_t i = 0; match && i < expected_shape.size(); ++i) {
    match =
        expected_shape[i] == kNpyAnyDim || expected_shape[i] == array->shape[i];
  }
  if (!match) {
    std::vector<std::string> dims;
    for (int64_t d : expected_shape) {
      dims.push_back(d == kNpyAnyDim ? "*" : absl::StrCat(d));
    }
    std::string expected =
        dims.size() == 1 ? absl::StrCat("(", dims[0], ",)")
                         : absl::StrCat("(", absl::StrJoin(dims, ", "), ")");
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": expected shape ", expected, ", found ",
                     NpyShapeString(array->shape)));
  }
  return array;
}

}  // namespace recserve
