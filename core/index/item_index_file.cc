#include "core/index/item_index_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "core/base/file_util.h"
#include "core/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace recserve {
namespace item_index_file {
namespace {

constexpr char kMagic[] = "recserve-hnsw\n";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
constexpr size_t kPrefixSize = kMagicSize + sizeof(uint32_t);
constexpr int64_t kFormatVersion = 1;
constexpr uint32_t kMaxHeaderBytes = 1 << 16;
// hnswlib's saveIndex header: 10 size_t, an int, a tableint and a double.
constexpr size_t kHnswHeaderBytes =
    10 * sizeof(size_t) + sizeof(int) + sizeof(uint32_t) + sizeof(double);
// hnswlib's linklistsizeint, tableint and labeltype.
using ListSize = uint32_t;
using InternalId = uint32_t;
using Label = size_t;

// Appends the bytes of each value, in order.
template <typename... T>
void AppendPod(std::string* out, const T&... values) {
  (out->append(reinterpret_cast<const char*>(&values), sizeof(T)), ...);
}

// Reads PODs from a byte string.
class Cursor {
 public:
  explicit Cursor(absl::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  bool Take(T* value) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  absl::string_view TakeBytes(size_t n) {
    absl::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(out.size());
    return out;
  }
  size_t remaining() const { return bytes_.size(); }

 private:
  absl::string_view bytes_;
};

// The JSON header as stored.
struct FileHeader {
  int64_t format_version = 0;
  std::string space;
  int64_t dimensions = 0, items = 0;
  ItemIndexOptions options;
  uint32_t source_crc32 = 0, payload_crc32 = 0;
  uint64_t payload_bytes = 0;
};

std::string HeaderJson(const FileHeader& h) {
  nlohmann::json j = {{"format_version", h.format_version},
                      {"space", h.space},
                      {"dimensions", h.dimensions},
                      {"items", h.items},
                      {"m", h.options.m},
                      {"ef_construction", h.options.ef_construction},
                      {"threads", h.options.threads},
                      {"seed", h.options.seed},
                      {"source_crc32", h.source_crc32},
                      {"payload_bytes", h.payload_bytes},
                      {"payload_crc32", h.payload_crc32}};
  return j.dump();
}

// A non-negative integer field within [lo, hi].
template <typename T>
bool GetInt(const nlohmann::json& j, const char* key, uint64_t lo, uint64_t hi,
            T* out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return false;
  const uint64_t value = it->get<uint64_t>();
  if (value < lo || value > hi) return false;
  *out = static_cast<T>(value);
  return true;
}

absl::StatusOr<FileHeader> ParseHeaderJson(absl::string_view text) {
  const nlohmann::json j =
      nlohmann::json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                            /*allow_exceptions=*/false);
  FileHeader h;
  constexpr uint64_t kInt32Max = std::numeric_limits<int32_t>::max();
  constexpr uint64_t kU32Max = std::numeric_limits<uint32_t>::max();
  auto space = j.is_object() ? j.find("space") : j.end();
  if (!j.is_object() ||
      !GetInt(j, "format_version", 0, kInt32Max, &h.format_version) ||
      space == j.end() || !space->is_string() ||
      !GetInt(j, "dimensions", 1, kInt32Max, &h.dimensions) ||
      !GetInt(j, "items", 1, kInt32Max, &h.items) ||
      !GetInt(j, "m", 2, kMaxM, &h.options.m) ||
      !GetInt(j, "ef_construction", 1, kInt32Max, &h.options.ef_construction) ||
      !GetInt(j, "threads", 0, kInt32Max, &h.options.threads) ||
      !GetInt(j, "seed", 0, std::numeric_limits<uint64_t>::max(),
              &h.options.seed) ||
      !GetInt(j, "source_crc32", 0, kU32Max, &h.source_crc32) ||
      !GetInt(j, "payload_bytes", 0, std::numeric_limits<int64_t>::max(),
              &h.payload_bytes) ||
      !GetInt(j, "payload_crc32", 0, kU32Max, &h.payload_crc32)) {
    return absl::DataLossError("malformed header");
  }
  h.space = space->get<std::string>();
  return h;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status ReadExact(int fd, char* dst, size_t size,
                       const std::string& path) {
  while (size > 0) {
    const ssize_t got = ::read(fd, dst, std::min(size, size_t{1} << 30));
    if (got < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, path, "read");
    }
    if (got == 0) {
      return absl::DataLossError(absl::StrCat(path, ": truncated while read"));
    }
    dst += got;
    size -= static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

// The upper-level lists count neighbours in the low 16 bits of a uint32 and
// level 0 keeps a deletion mark in bits 16..23: requiring the whole word to
// be <= the capacity also rejects deleted elements.
bool ListOk(const char* list, size_t capacity, size_t n, const int* levels,
            int level) {
  ListSize header;
  std::memcpy(&header, list, sizeof(header));
  if (header > capacity) return false;
  for (size_t j = 0; j < header; ++j) {
    InternalId id;
    std::memcpy(&id, list + sizeof(header) + j * sizeof(id), sizeof(id));
    if (id >= n || levels[id] < level) return false;
  }
  return true;
}

// Fills `g` (constructed for `n` elements and the file's m, ef_construction)
// from the verified hnswlib header and link-list section, and checks that
// every id, level and list size is in range.
absl::Status RestoreGraph(absl::string_view hnsw_header,
                          absl::string_view links, const HnswGraph& g) {
  const size_t n = g.max_elements;
  Cursor c(hnsw_header);
  size_t offset_level0, max_elements, count, size_per_element, label_offset,
      offset_data, max_m, max_m0, m, ef_construction;
  int max_level;
  InternalId entry;
  double mult;
  const bool complete = c.Take(&offset_level0) && c.Take(&max_elements) &&
                        c.Take(&count) && c.Take(&size_per_element) &&
                        c.Take(&label_offset) && c.Take(&offset_data) &&
                        c.Take(&max_level) && c.Take(&entry) &&
                        c.Take(&max_m) && c.Take(&max_m0) && c.Take(&m) &&
                        c.Take(&mult) && c.Take(&ef_construction);
  if (!complete || offset_level0 != g.offset_level0 || count != n ||
      size_per_element != g.size_data_per_element ||
      label_offset != g.label_offset || offset_data != g.offset_data ||
      max_m != g.max_m || max_m0 != g.max_m0 || m != g.m ||
      ef_construction != g.ef_construction) {
    return absl::DataLossError("the graph's layout contradicts its header");
  }
  if (max_level < 0 || entry >= n) {
    return absl::DataLossError("bad entry point or top level");
  }
  *g.element_count = n;  // the destructor frees lists of levels > 0
  Cursor lists(links);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bytes;
    if (!lists.Take(&bytes) || bytes % g.size_links_per_element != 0 ||
        bytes / g.size_links_per_element > static_cast<size_t>(max_level) ||
        lists.remaining() < bytes) {
      return absl::DataLossError(absl::StrCat("bad link lists of element ", i));
    }
    g.link_lists[i] = nullptr;
    if (bytes == 0) continue;
    char* copy = static_cast<char*>(std::malloc(bytes));
    if (copy == nullptr) return absl::ResourceExhaustedError("out of memory");
    std::memcpy(copy, lists.TakeBytes(bytes).data(), bytes);
    g.link_lists[i] = copy;
    g.element_levels[i] = static_cast<int>(bytes / g.size_links_per_element);
  }
  if (lists.remaining() != 0 || g.element_levels[entry] != max_level) {
    return absl::DataLossError("bad link-list section or entry point");
  }
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < n; ++i) {
    const char* element = g.level0 + i * g.size_data_per_element;
    Label label;
    std::memcpy(&label, element + g.label_offset, sizeof(label));
    if (label >= n || seen[label]) {
      return absl::DataLossError(absl::StrCat("bad label of element ", i));
    }
    seen[label] = true;
    bool ok =
        ListOk(element + g.offset_level0, g.max_m0, n, g.element_levels, 0);
    for (int l = 1; ok && l <= g.element_levels[i]; ++l) {
      ok = ListOk(g.link_lists[i] + (l - 1) * g.size_links_per_element, g.max_m,
                  n, g.element_levels, l);
    }
    if (!ok) {
      return absl::DataLossError(absl::StrCat("bad links of element ", i));
    }
  }
  *g.max_level = max_level;
  *g.entry_point = entry;
  // hnswlib's label_lookup_ stays empty: only addPoint and getDataByLabel
  // use it.
  return absl::OkStatus();
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

uint32_t SourceCrc32(Eigen::Ref<const FactorMatrix> vectors) {
  const size_t row_bytes = static_cast<size_t>(vectors.cols()) * sizeof(float);
  uint32_t crc = 0;
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    crc = Crc32(
        absl::string_view(reinterpret_cast<const char*>(vectors.row(r).data()),
                          row_bytes),
        crc);
  }
  return crc;
}

absl::Status Write(const std::string& path, const Header& header,
                   const HnswGraph& g) {
  const size_t count = *g.element_count;
  std::string hnsw_header;
  // hnswlib's saveIndex header, in its order.
  AppendPod(&hnsw_header, g.offset_level0, g.max_elements, count,
            g.size_data_per_element, g.label_offset, g.offset_data,
            *g.max_level, *g.entry_point, g.max_m, g.max_m0, g.m, g.mult,
            g.ef_construction);
  const absl::string_view level0(g.level0, count * g.size_data_per_element);
  std::string links;
  for (size_t i = 0; i < count; ++i) {
    const int level = g.element_levels[i];
    const uint32_t bytes =
        level > 0 ? static_cast<uint32_t>(g.size_links_per_element * level) : 0;
    AppendPod(&links, bytes);
    if (bytes > 0) links.append(g.link_lists[i], bytes);
  }
  FileHeader file_header;
  file_header.format_version = kFormatVersion;
  file_header.space = IndexSpaceName(header.space);
  file_header.dimensions = header.dimensions;
  file_header.items = header.items;
  file_header.options = header.options;
  file_header.source_crc32 = header.source_crc32;
  file_header.payload_bytes = hnsw_header.size() + level0.size() + links.size();
  file_header.payload_crc32 = Crc32(links, Crc32(level0, Crc32(hnsw_header)));
  const std::string json = HeaderJson(file_header);
  std::string envelope(kMagic, kMagicSize);
  AppendPod(&envelope, static_cast<uint32_t>(json.size()));
  envelope += json;
  AppendPod(&envelope, Crc32(envelope));

  static std::atomic<uint64_t> counter{0};
  const std::string temp =
      absl::StrCat(path, ".tmp-", ::getpid(), "-", counter.fetch_add(1));
  absl::Status status =
      WriteFileDurably(temp, {envelope, hnsw_header, level0, links});
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus(errno, path, absl::StrCat("rename from ", temp));
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  return FsyncPath(Dirname(path));
}

absl::StatusOr<std::unique_ptr<Reader>> Reader::Open(
    const std::string& path, Eigen::Ref<const FactorMatrix> vectors,
    IndexSpace space) {
  auto data_loss = [&path](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(path, ": ", what));
  };
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, path, "open");
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, path, "stat");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < kPrefixSize + sizeof(uint32_t)) {
    return data_loss(absl::StrCat("truncated: ", file_size, " bytes"));
  }
  std::string envelope(kPrefixSize, '\0');
  RETURN_IF_ERROR(ReadExact(fd.get(), envelope.data(), kPrefixSize, path));
  if (envelope.compare(0, kMagicSize, kMagic) != 0) {
    return data_loss("not a recserve HNSW index");
  }
  uint32_t json_size;
  std::memcpy(&json_size, envelope.data() + kMagicSize, sizeof(json_size));
  if (json_size > kMaxHeaderBytes ||
      kPrefixSize + json_size + sizeof(uint32_t) > file_size) {
    return data_loss("truncated or corrupt header");
  }
  envelope.resize(kPrefixSize + json_size + sizeof(uint32_t));
  RETURN_IF_ERROR(ReadExact(fd.get(), envelope.data() + kPrefixSize,
                            json_size + sizeof(uint32_t), path));
  uint32_t header_crc;
  std::memcpy(&header_crc, envelope.data() + kPrefixSize + json_size,
              sizeof(header_crc));
  if (Crc32(absl::string_view(envelope).substr(0, kPrefixSize + json_size)) !=
      header_crc) {
    return data_loss("header CRC-32 mismatch");
  }
  absl::StatusOr<FileHeader> parsed = ParseHeaderJson(
      absl::string_view(envelope).substr(kPrefixSize, json_size));
  if (!parsed.ok()) return data_loss(parsed.status().message());
  const FileHeader& file_header = *parsed;
  if (file_header.format_version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": index format version ", file_header.format_version,
        " is not readable by this build (reads ", kFormatVersion, ")"));
  }
  if (file_header.space != IndexSpaceName(space) ||
      file_header.dimensions != vectors.cols() ||
      file_header.items != vectors.rows()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": index of ", file_header.space, " space, ", file_header.items,
        " items x ", file_header.dimensions, " dimensions, wanted ",
        IndexSpaceName(space), ", ", vectors.rows(), " x ", vectors.cols()));
  }
  if (envelope.size() + file_header.payload_bytes != file_size) {
    return data_loss(absl::StrCat("the file has ", file_size,
                                  " bytes, its header says ",
                                  envelope.size() + file_header.payload_bytes));
  }
  const uint32_t source_crc = SourceCrc32(vectors);
  if (source_crc != file_header.source_crc32) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the index was built from other vectors (CRC-32 ",
                     Crc32ToHex(file_header.source_crc32), ", given ",
                     Crc32ToHex(source_crc), ")"));
  }
  Header header;
  header.space = space;
  header.dimensions = static_cast<int32_t>(file_header.dimensions);
  header.items = static_cast<int32_t>(file_header.items);
  header.options = file_header.options;
  header.source_crc32 = source_crc;
  return std::unique_ptr<Reader>(new Reader(path, fd.release(), header,
                                            file_header.payload_bytes,
                                            file_header.payload_crc32));
}

Reader::Reader(std::string path, int fd, const Header& header,
               uint64_t payload_bytes, uint32_t payload_crc32)
    : path_(std::move(path)),
      fd_(fd),
      header_(header),
      payload_bytes_(payload_bytes),
      payload_crc32_(payload_crc32) {}

Reader::~Reader() { ::close(fd_); }

absl::Status Reader::ReadGraph(const HnswGraph& graph) {
  const uint64_t level0_bytes = uint64_t{graph.size_data_per_element} *
                                static_cast<uint64_t>(header_.items);
  if (payload_bytes_ < kHnswHeaderBytes + level0_bytes) {
    return absl::DataLossError(
        absl::StrCat(path_, ": payload too short for its graph"));
  }
  std::string hnsw_header(kHnswHeaderBytes, '\0');
  std::string links;
  try {
    links.resize(payload_bytes_ - kHnswHeaderBytes - level0_bytes);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(path_, ": out of memory"));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(path_, ": ", e.what()));
  }
  RETURN_IF_ERROR(
      ReadExact(fd_, hnsw_header.data(), hnsw_header.size(), path_));
  RETURN_IF_ERROR(ReadExact(fd_, graph.level0, level0_bytes, path_));
  RETURN_IF_ERROR(ReadExact(fd_, links.data(), links.size(), path_));
  uint32_t crc = Crc32(hnsw_header);
  crc = Crc32(absl::string_view(graph.level0, level0_bytes), crc);
  crc = Crc32(links, crc);
  if (crc != payload_crc32_) {
    return absl::DataLossError(
        absl::StrCat(path_, ": payload CRC-32 mismatch"));
  }
  if (absl::Status s = RestoreGraph(hnsw_header, links, graph); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path_, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace item_index_file
}  // namespace recserve
