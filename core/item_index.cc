#include "core/item_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/parallel_for.h"
#include "core/status_macros.h"
// hnswlib 0.6.2 defines non-inline functions: include it in this file only.
// It relies on <fstream>, <mutex> and <unordered_map> being included first.
#include "hnswlib/hnswlib.h"
#include "nlohmann/json.hpp"

// File format, one file (native byte order: little-endian on every target):
//   "recserve-hnsw\n"  magic, 14 bytes
//   uint32             length L of the JSON header
//   L bytes            JSON: format_version, space, dimensions, items, m,
//                      ef_construction, threads, seed, source_crc32 (of the
//                      indexed matrix's rows), payload_bytes, payload_crc32
//   uint32             CRC-32 of everything above
//   payload            hnswlib 0.6.2's saveIndex stream: a 96-byte header,
//                      the level-0 block, then per element a uint32 size and
//                      its upper-level link lists.
// Load checks both CRC-32s and then the graph itself (ids, levels, list
// sizes) so that even a well-formed forgery cannot make Search read out of
// bounds; hnswlib's own loadIndex is never called.

namespace recserve {
namespace {

using Hnsw = hnswlib::HierarchicalNSW<float>;
using hnswlib::linklistsizeint;
using hnswlib::tableint;

constexpr char kMagic[] = "recserve-hnsw\n";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
constexpr size_t kPrefixSize = kMagicSize + sizeof(uint32_t);
constexpr int64_t kFormatVersion = 1;
constexpr uint32_t kMaxHeaderBytes = 1 << 16;
// hnswlib's saveIndex header: 10 size_t, an int, a tableint and a double.
constexpr size_t kHnswHeaderBytes =
    10 * sizeof(size_t) + sizeof(int) + sizeof(tableint) + sizeof(double);
constexpr int32_t kMaxM = 10000;

absl::Status CheckOptions(const ItemIndexOptions& o) {
  if (o.m < 2 || o.m > kMaxM || o.ef_construction < 1 || o.threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad index options: m ", o.m, " (2..", kMaxM, "), ef_construction ",
        o.ef_construction, " (>= 1), threads ", o.threads, " (>= 0)"));
  }
  return absl::OkStatus();
}

// hnswlib throws; everything it does runs through here.
template <typename F>
absl::Status CatchHnswlib(absl::string_view what, F&& f) {
  try {
    f();
    return absl::OkStatus();
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": out of memory"));
  } catch (const std::exception& e) {
    if (absl::StrContains(e.what(), "memory")) {
      return absl::ResourceExhaustedError(absl::StrCat(what, ": ", e.what()));
    }
    return absl::InternalError(absl::StrCat(what, ": hnswlib: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(what, ": unknown exception"));
  }
}

// q·v in a fixed order (8 lanes), whatever the alignment, so that Search and
// ExactNeighbors agree.
float Dot(const float* a, const float* b, int32_t n) {
  float lane[8] = {};
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) lane[j] += a[i + j] * b[i + j];
  }
  float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
            ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// out = in / |in| (zeros stay zero); in double so tiny rows do not overflow.
void NormalizeInto(const float* in, int32_t n, float* out) {
  double squares = 0.0;
  for (int32_t i = 0; i < n; ++i) squares += double{in[i]} * in[i];
  const double inverse = squares > 0.0 ? 1.0 / std::sqrt(squares) : 0.0;
  for (int32_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i] * inverse);
}

float RankKey(float score) {
  return std::isnan(score) ? -std::numeric_limits<float>::infinity() : score;
}

// Best first: higher score, then lower item.
bool Better(const IndexNeighbor& a, const IndexNeighbor& b) {
  const float x = RankKey(a.score), y = RankKey(b.score);
  return x > y || (x == y && a.item < b.item);
}

uint32_t SourceCrc(const Eigen::Ref<const FactorMatrix>& vectors) {
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

template <typename T>
void AppendPod(std::string* out, const T& value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(T));
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
      nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
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
bool ListOk(const linklistsizeint* list, size_t capacity, size_t n,
            const std::vector<int>& levels, int level) {
  linklistsizeint header;
  std::memcpy(&header, list, sizeof(header));
  if (header > capacity) return false;
  for (size_t j = 0; j < header; ++j) {
    tableint id;
    std::memcpy(&id, reinterpret_cast<const char*>(list + 1) + j * sizeof(id),
                sizeof(id));
    if (id >= n || levels[id] < level) return false;
  }
  return true;
}

// Fills `h` (constructed for `n` elements and the file's m, ef_construction)
// from the verified hnswlib header and link-list section, and checks that
// every id, level and list size is in range.
absl::Status RestoreGraph(absl::string_view hnsw_header,
                          absl::string_view links, Hnsw* h) {
  const size_t n = h->max_elements_;
  Cursor c(hnsw_header);
  size_t offset_level0, max_elements, count, size_per_element, label_offset,
      offset_data, max_m, max_m0, m, ef_construction;
  int max_level;
  tableint entry;
  double mult;
  const bool complete = c.Take(&offset_level0) && c.Take(&max_elements) &&
                        c.Take(&count) && c.Take(&size_per_element) &&
                        c.Take(&label_offset) && c.Take(&offset_data) &&
                        c.Take(&max_level) && c.Take(&entry) &&
                        c.Take(&max_m) && c.Take(&max_m0) && c.Take(&m) &&
                        c.Take(&mult) && c.Take(&ef_construction);
  if (!complete || offset_level0 != h->offsetLevel0_ || count != n ||
      size_per_element != h->size_data_per_element_ ||
      label_offset != h->label_offset_ || offset_data != h->offsetData_ ||
      max_m != h->maxM_ || max_m0 != h->maxM0_ || m != h->M_ ||
      ef_construction != h->ef_construction_) {
    return absl::DataLossError("the graph's layout contradicts its header");
  }
  if (max_level < 0 || entry >= n) {
    return absl::DataLossError("bad entry point or top level");
  }
  h->cur_element_count = n;  // the destructor frees lists of levels > 0
  Cursor lists(links);
  for (size_t i = 0; i < n; ++i) {
    uint32_t bytes;
    if (!lists.Take(&bytes) || bytes % h->size_links_per_element_ != 0 ||
        bytes / h->size_links_per_element_ > static_cast<size_t>(max_level) ||
        lists.remaining() < bytes) {
      return absl::DataLossError(absl::StrCat("bad link lists of element ", i));
    }
    h->linkLists_[i] = nullptr;
    if (bytes == 0) continue;
    char* copy = static_cast<char*>(std::malloc(bytes));
    if (copy == nullptr) return absl::ResourceExhaustedError("out of memory");
    std::memcpy(copy, lists.TakeBytes(bytes).data(), bytes);
    h->linkLists_[i] = copy;
    h->element_levels_[i] =
        static_cast<int>(bytes / h->size_links_per_element_);
  }
  if (lists.remaining() != 0 || h->element_levels_[entry] != max_level) {
    return absl::DataLossError("bad link-list section or entry point");
  }
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < n; ++i) {
    const size_t label = h->getExternalLabel(static_cast<tableint>(i));
    if (label >= n || seen[label]) {
      return absl::DataLossError(absl::StrCat("bad label of element ", i));
    }
    seen[label] = true;
    const tableint id = static_cast<tableint>(i);
    bool ok = ListOk(h->get_linklist0(id), h->maxM0_, n, h->element_levels_, 0);
    for (int l = 1; ok && l <= h->element_levels_[i]; ++l) {
      ok = ListOk(h->get_linklist(id, l), h->maxM_, n, h->element_levels_, l);
    }
    if (!ok) {
      return absl::DataLossError(absl::StrCat("bad links of element ", i));
    }
  }
  h->maxlevel_ = max_level;
  h->enterpoint_node_ = entry;
  // label_lookup_ stays empty: only addPoint and getDataByLabel use it.
  return absl::OkStatus();
}

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

struct ItemIndex::Graph {
  explicit Graph(int32_t dimensions) : space(dimensions) {}
  hnswlib::InnerProductSpace space;  // must outlive hnsw
  std::unique_ptr<Hnsw> hnsw;
};

const char* IndexSpaceName(IndexSpace space) {
  return space == IndexSpace::kCosine ? "cosine" : "ip";
}

ItemIndex::ItemIndex(IndexSpace space, int32_t dimensions, int32_t size,
                     const ItemIndexOptions& options, uint32_t source_crc32)
    : space_(space),
      dimensions_(dimensions),
      size_(size),
      options_(options),
      source_crc32_(source_crc32),
      graph_(std::make_unique<Graph>(dimensions)) {}

ItemIndex::~ItemIndex() = default;

absl::StatusOr<std::unique_ptr<ItemIndex>> ItemIndex::Build(
    Eigen::Ref<const FactorMatrix> vectors, IndexSpace space,
    const ItemIndexOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (vectors.rows() == 0 || vectors.cols() == 0 ||
      vectors.rows() > std::numeric_limits<int32_t>::max() ||
      vectors.cols() > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot index a ", vectors.rows(), " x ", vectors.cols(), " matrix"));
  }
  if (!vectors.allFinite()) {
    return absl::InvalidArgumentError("cannot index non-finite values");
  }
  const int32_t n = static_cast<int32_t>(vectors.rows());
  const int32_t d = static_cast<int32_t>(vectors.cols());
  std::unique_ptr<ItemIndex> index(
      new ItemIndex(space, d, n, options, SourceCrc(vectors)));
  FactorMatrix normalized;
  if (space == IndexSpace::kCosine) {
    normalized.resize(n, d);
    for (int32_t r = 0; r < n; ++r) {
      NormalizeInto(vectors.row(r).data(), d, normalized.row(r).data());
    }
  }
  auto row = [&](int64_t r) -> const float* {
    return space == IndexSpace::kCosine ? normalized.row(r).data()
                                        : vectors.row(r).data();
  };
  Graph& g = *index->graph_;
  RETURN_IF_ERROR(CatchHnswlib("building the index", [&] {
    g.hnsw = std::make_unique<Hnsw>(&g.space, n, options.m,
                                    options.ef_construction, options.seed);
    g.hnsw->addPoint(row(0), 0);
  }));
  std::mutex mu;
  absl::Status error;
  std::atomic<bool> failed{false};
  ParallelFor(n - 1, options.threads, [&](int64_t begin, int64_t end, int32_t) {
    for (int64_t i = begin + 1; i <= end; ++i) {
      if (failed.load(std::memory_order_relaxed)) return;
      absl::Status s = CatchHnswlib("building the index", [&] {
        g.hnsw->addPoint(row(i), static_cast<hnswlib::labeltype>(i));
      });
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.ok()) error = std::move(s);
        failed = true;
        return;
      }
    }
  });
  RETURN_IF_ERROR(error);
  return index;
}

absl::StatusOr<std::unique_ptr<ItemIndex>> ItemIndex::Load(
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
  const FileHeader& header = *parsed;
  if (header.format_version != kFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": index format version ", header.format_version,
        " is not readable by this build (reads ", kFormatVersion, ")"));
  }
  if (header.space != IndexSpaceName(space) ||
      header.dimensions != vectors.cols() || header.items != vectors.rows()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": index of ", header.space, " space, ", header.items,
        " items x ", header.dimensions, " dimensions, wanted ",
        IndexSpaceName(space), ", ", vectors.rows(), " x ", vectors.cols()));
  }
  if (envelope.size() + header.payload_bytes != file_size) {
    return data_loss(absl::StrCat("the file has ", file_size,
                                  " bytes, its header says ",
                                  envelope.size() + header.payload_bytes));
  }
  const uint32_t source_crc = SourceCrc(vectors);
  if (source_crc != header.source_crc32) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the index was built from other vectors (CRC-32 ",
                     Crc32ToHex(header.source_crc32), ", given ",
                     Crc32ToHex(source_crc), ")"));
  }

  const int32_t n = static_cast<int32_t>(header.items);
  std::unique_ptr<ItemIndex> index(
      new ItemIndex(space, static_cast<int32_t>(header.dimensions), n,
                    header.options, source_crc));
  Graph& g = *index->graph_;
  absl::Status made = CatchHnswlib(path, [&] {
    g.hnsw = std::make_unique<Hnsw>(&g.space, n, header.options.m,
                                    header.options.ef_construction,
                                    header.options.seed);
  });
  RETURN_IF_ERROR(made);
  Hnsw& h = *g.hnsw;
  const uint64_t level0_bytes = uint64_t{h.size_data_per_element_} * n;
  if (header.payload_bytes < kHnswHeaderBytes + level0_bytes) {
    return data_loss("payload too short for its graph");
  }
  std::string hnsw_header(kHnswHeaderBytes, '\0');
  std::string links;
  absl::Status read = CatchHnswlib(path, [&] {
    links.resize(header.payload_bytes - kHnswHeaderBytes - level0_bytes);
  });
  RETURN_IF_ERROR(read);
  RETURN_IF_ERROR(
      ReadExact(fd.get(), hnsw_header.data(), hnsw_header.size(), path));
  RETURN_IF_ERROR(
      ReadExact(fd.get(), h.data_level0_memory_, level0_bytes, path));
  RETURN_IF_ERROR(ReadExact(fd.get(), links.data(), links.size(), path));
  uint32_t crc = Crc32(hnsw_header);
  crc = Crc32(absl::string_view(h.data_level0_memory_, level0_bytes), crc);
  crc = Crc32(links, crc);
  if (crc != header.payload_crc32) return data_loss("payload CRC-32 mismatch");
  if (absl::Status s = RestoreGraph(hnsw_header, links, &h); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat(path, ": ", s.message()));
  }
  return index;
}

absl::Status ItemIndex::Save(const std::string& path) const {
  const Hnsw& h = *graph_->hnsw;
  std::string hnsw_header;
  AppendPod(&hnsw_header, h.offsetLevel0_);
  AppendPod(&hnsw_header, h.max_elements_);
  AppendPod(&hnsw_header, h.cur_element_count);
  AppendPod(&hnsw_header, h.size_data_per_element_);
  AppendPod(&hnsw_header, h.label_offset_);
  AppendPod(&hnsw_header, h.offsetData_);
  AppendPod(&hnsw_header, h.maxlevel_);
  AppendPod(&hnsw_header, h.enterpoint_node_);
  AppendPod(&hnsw_header, h.maxM_);
  AppendPod(&hnsw_header, h.maxM0_);
  AppendPod(&hnsw_header, h.M_);
  AppendPod(&hnsw_header, h.mult_);
  AppendPod(&hnsw_header, h.ef_construction_);
  const absl::string_view level0(
      h.data_level0_memory_, h.cur_element_count * h.size_data_per_element_);
  std::string links;
  for (size_t i = 0; i < h.cur_element_count; ++i) {
    const int level = h.element_levels_[i];
    const uint32_t bytes =
        level > 0 ? static_cast<uint32_t>(h.size_links_per_element_ * level)
                  : 0;
    AppendPod(&links, bytes);
    if (bytes > 0) links.append(h.linkLists_[i], bytes);
  }
  FileHeader header;
  header.format_version = kFormatVersion;
  header.space = IndexSpaceName(space_);
  header.dimensions = dimensions_;
  header.items = size_;
  header.options = options_;
  header.source_crc32 = source_crc32_;
  header.payload_bytes = hnsw_header.size() + level0.size() + links.size();
  header.payload_crc32 = Crc32(links, Crc32(level0, Crc32(hnsw_header)));
  const std::string json = HeaderJson(header);
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

absl::StatusOr<std::vector<IndexNeighbor>> ItemIndex::Search(
    absl::Span<const float> query, int32_t k, int32_t ef) const {
  if (query.size() != static_cast<size_t>(dimensions_) || k < 1 || ef < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad search: query of ", query.size(), " floats (index has ",
        dimensions_, " dimensions), k ", k, ", ef ", ef, " (both >= 1)"));
  }
  for (float v : query) {
    if (!std::isfinite(v)) {
      return absl::InvalidArgumentError("the query has a non-finite value");
    }
  }
  k = std::min(k, size_);
  std::vector<float> normalized;
  const float* q = query.data();
  if (space_ == IndexSpace::kCosine) {
    normalized.resize(dimensions_);
    NormalizeInto(q, dimensions_, normalized.data());
    q = normalized.data();
  }
  const Hnsw& h = *graph_->hnsw;
  std::vector<IndexNeighbor> out;
  RETURN_IF_ERROR(CatchHnswlib("searching the index", [&] {
    // hnswlib's searchKnn with the breadth as an argument instead of ef_.
    tableint current = h.enterpoint_node_;
    float best =
        h.fstdistfunc_(q, h.getDataByInternalId(current), h.dist_func_param_);
    for (int level = h.maxlevel_; level > 0; --level) {
      for (bool changed = true; changed;) {
        changed = false;
        linklistsizeint* list = h.get_linklist(current, level);
        const tableint* ids = reinterpret_cast<const tableint*>(list + 1);
        for (int i = 0, size = h.getListCount(list); i < size; ++i) {
          const float d = h.fstdistfunc_(q, h.getDataByInternalId(ids[i]),
                                         h.dist_func_param_);
          if (d < best) {
            best = d;
            current = ids[i];
            changed = true;
          }
        }
      }
    }
    auto top = h.searchBaseLayerST<false>(
        current, q, std::max<size_t>(static_cast<size_t>(ef), k));
    while (top.size() > static_cast<size_t>(k)) top.pop();
    out.reserve(top.size());
    for (; !top.empty(); top.pop()) {
      const tableint id = top.top().second;
      out.push_back(
          {static_cast<int32_t>(h.getExternalLabel(id)),
           Dot(q, reinterpret_cast<const float*>(h.getDataByInternalId(id)),
               dimensions_)});
    }
  }));
  std::sort(out.begin(), out.end(), Better);
  return out;
}

std::vector<IndexNeighbor> ExactNeighbors(
    Eigen::Ref<const FactorMatrix> vectors, IndexSpace space,
    absl::Span<const float> query, int32_t k) {
  const int32_t d = static_cast<int32_t>(vectors.cols());
  if (k < 1 || query.size() != static_cast<size_t>(d) || vectors.rows() == 0) {
    return {};
  }
  const size_t keep =
      static_cast<size_t>(std::min<Eigen::Index>(k, vectors.rows()));
  std::vector<float> q(query.begin(), query.end());
  std::vector<float> row(d);
  if (space == IndexSpace::kCosine) NormalizeInto(query.data(), d, q.data());
  // A heap of the best `keep` so far, the worst on top.
  std::vector<IndexNeighbor> heap;
  heap.reserve(keep);
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    const float* v = vectors.row(r).data();
    if (space == IndexSpace::kCosine) {
      NormalizeInto(v, d, row.data());
      v = row.data();
    }
    const IndexNeighbor candidate{static_cast<int32_t>(r), Dot(q.data(), v, d)};
    if (heap.size() < keep) {
      heap.push_back(candidate);
      std::push_heap(heap.begin(), heap.end(), Better);
    } else if (Better(candidate, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), Better);
      heap.back() = candidate;
      std::push_heap(heap.begin(), heap.end(), Better);
    }
  }
  std::sort_heap(heap.begin(), heap.end(), Better);
  return heap;
}

}  // namespace recserve
