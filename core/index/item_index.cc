#include "core/index/item_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/dot_product.h"
#include "core/base/file_util.h"
#include "core/base/parallel_for.h"
#include "core/base/status_macros.h"
#include "core/base/top_k.h"
#include "core/index/item_index_file.h"
// hnswlib 0.6.2 defines non-inline functions: include it in this file only.
// It relies on <fstream>, <mutex> and <unordered_map> being included first.
// Its SSE path prefetches the entry one past the end of a link list (a read
// of 4 bytes beyond the allocation, used only as a prefetch address); under
// AddressSanitizer that is reported, so sanitizer builds use its plain loops.
// (__SANITIZE_ADDRESS__ is GCC's signal, __has_feature clang's.)
#if defined(__SANITIZE_ADDRESS__)
#define NO_MANUAL_VECTORIZATION
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MANUAL_VECTORIZATION
#endif
#endif
#include "hnswlib/hnswlib.h"

// The file format (Save, Load) lives in core/index/item_index_file.h; this file
// builds, searches and owns the hnswlib graph.

namespace recserve {
namespace {

using Hnsw = hnswlib::HierarchicalNSW<float>;
using hnswlib::linklistsizeint;
using hnswlib::tableint;

static_assert(std::is_same_v<tableint, uint32_t> &&
              std::is_same_v<hnswlib::labeltype, size_t>);

using item_index_file::kMaxM;

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

// out = in / |in| (zeros stay zero); in double so tiny rows do not overflow.
void NormalizeInto(const float* in, int32_t n, float* out) {
  double squares = 0.0;
  for (int32_t i = 0; i < n; ++i) squares += double{in[i]} * in[i];
  const double inverse = squares > 0.0 ? 1.0 / std::sqrt(squares) : 0.0;
  for (int32_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i] * inverse);
}

// The rows hnswlib is given: `vectors` itself, or for cosine their unit
// vectors, copied into `*normalized`. Both must outlive the function
// returned.
std::function<const float*(int64_t)> IndexedRows(
    IndexSpace space, Eigen::Ref<const FactorMatrix> vectors,
    FactorMatrix* normalized) {
  const int32_t d = static_cast<int32_t>(vectors.cols());
  if (space != IndexSpace::kCosine) {
    // The caller's `vectors` outlives the function returned.
    const float* data = vectors.data();
    const int64_t stride = vectors.outerStride();
    return [data, stride](int64_t r) { return data + r * stride; };
  }
  normalized->resize(vectors.rows(), d);
  for (int64_t r = 0; r < vectors.rows(); ++r) {
    NormalizeInto(vectors.row(r).data(), d, normalized->row(r).data());
  }
  return [normalized](int64_t r) { return normalized->row(r).data(); };
}

// Adds `count` points, row(i) labelled first_label + i, on `threads`
// workers; the first error stops them and is returned.
absl::Status AddPointsInParallel(
    Hnsw& h, int64_t count, int64_t first_label, int32_t threads,
    absl::string_view what, const std::function<const float*(int64_t)>& row) {
  std::mutex mu;
  absl::Status error;
  std::atomic<bool> failed{false};
  ParallelFor(count, threads, [&](int64_t begin, int64_t end, int32_t) {
    for (int64_t i = begin; i < end; ++i) {
      if (failed.load(std::memory_order_relaxed)) return;
      absl::Status s = CatchHnswlib(what, [&] {
        h.addPoint(row(i), static_cast<hnswlib::labeltype>(first_label + i));
      });
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.ok()) error = std::move(s);
        failed = true;
        return;
      }
    }
  });
  return error;
}

// The graph as memory, for item_index_file.
item_index_file::HnswGraph MemoryOf(Hnsw& h) {
  item_index_file::HnswGraph g;
  g.offset_level0 = h.offsetLevel0_;
  g.max_elements = h.max_elements_;
  g.size_data_per_element = h.size_data_per_element_;
  g.size_links_per_element = h.size_links_per_element_;
  g.label_offset = h.label_offset_;
  g.offset_data = h.offsetData_;
  g.max_m = h.maxM_;
  g.max_m0 = h.maxM0_;
  g.m = h.M_;
  g.mult = h.mult_;
  g.ef_construction = h.ef_construction_;
  g.level0 = h.data_level0_memory_;
  g.link_lists = h.linkLists_;
  g.element_levels = h.element_levels_.data();
  g.element_count = &h.cur_element_count;
  g.max_level = &h.maxlevel_;
  g.entry_point = &h.enterpoint_node_;
  return g;
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
  std::unique_ptr<ItemIndex> index(new ItemIndex(
      space, d, n, options, item_index_file::SourceCrc32(vectors)));
  FactorMatrix normalized;
  const std::function<const float*(int64_t)> row =
      IndexedRows(space, vectors, &normalized);
  Graph& g = *index->graph_;
  RETURN_IF_ERROR(CatchHnswlib("building the index", [&] {
    g.hnsw = std::make_unique<Hnsw>(&g.space, n, options.m,
                                    options.ef_construction, options.seed);
    g.hnsw->addPoint(row(0), 0);
  }));
  // The first point went in alone: hnswlib's entry point.
  RETURN_IF_ERROR(AddPointsInParallel(
      *g.hnsw, n - 1, 1, options.threads, "building the index",
      [&row](int64_t i) { return row(i + 1); }));
  return index;
}

absl::StatusOr<std::unique_ptr<ItemIndex>> ItemIndex::Load(
    const std::string& path, Eigen::Ref<const FactorMatrix> vectors,
    IndexSpace space) {
  ASSIGN_OR_RETURN(std::unique_ptr<item_index_file::Reader> reader,
                   item_index_file::Reader::Open(path, vectors, space));
  const item_index_file::Header& header = reader->header();
  std::unique_ptr<ItemIndex> index(new ItemIndex(space, header.dimensions,
                                                 header.items, header.options,
                                                 header.source_crc32));
  Graph& g = *index->graph_;
  absl::Status made = CatchHnswlib(path, [&] {
    g.hnsw = std::make_unique<Hnsw>(&g.space, header.items, header.options.m,
                                    header.options.ef_construction,
                                    header.options.seed);
  });
  RETURN_IF_ERROR(made);
  RETURN_IF_ERROR(reader->ReadGraph(MemoryOf(*g.hnsw)));
  return index;
}

absl::StatusOr<std::unique_ptr<ItemIndex>> ItemIndex::Extend(
    std::unique_ptr<ItemIndex> base, Eigen::Ref<const FactorMatrix> new_rows,
    int32_t threads) {
  if (base == nullptr) return absl::InvalidArgumentError("no index to extend");
  if (threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad threads ", threads, " (>= 0)"));
  }
  if (new_rows.cols() != base->dimensions_ ||
      new_rows.rows() >
          std::numeric_limits<int32_t>::max() - int64_t{base->size_}) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot extend an index of ", base->size_, " x ", base->dimensions_,
        " with a ", new_rows.rows(), " x ", new_rows.cols(), " matrix"));
  }
  if (!new_rows.allFinite()) {
    return absl::InvalidArgumentError("cannot index non-finite values");
  }
  const int32_t old_size = base->size_;
  const int32_t added = static_cast<int32_t>(new_rows.rows());
  const int32_t d = base->dimensions_;
  if (added == 0) return base;
  // The source CRC-32 runs over the rows in order: continue it.
  uint32_t crc = base->source_crc32_;
  const size_t row_bytes = static_cast<size_t>(d) * sizeof(float);
  for (int32_t r = 0; r < added; ++r) {
    crc = Crc32(
        absl::string_view(reinterpret_cast<const char*>(new_rows.row(r).data()),
                          row_bytes),
        crc);
  }
  FactorMatrix normalized;
  const std::function<const float*(int64_t)> row =
      IndexedRows(base->space_, new_rows, &normalized);
  Hnsw& h = *base->graph_->hnsw;
  RETURN_IF_ERROR(CatchHnswlib("extending the index", [&] {
    h.resizeIndex(static_cast<size_t>(old_size) + added);
  }));
  RETURN_IF_ERROR(AddPointsInParallel(h, added, old_size, threads,
                                      "extending the index", row));
  base->size_ = old_size + added;
  base->source_crc32_ = crc;
  base->options_.threads = threads;
  return base;
}

absl::Status ItemIndex::Save(const std::string& path) const {
  item_index_file::Header header;
  header.space = space_;
  header.dimensions = dimensions_;
  header.items = size_;
  header.options = options_;
  header.source_crc32 = source_crc32_;
  return item_index_file::Write(path, header, MemoryOf(*graph_->hnsw));
}

absl::StatusOr<std::vector<ScoredItem>> ItemIndex::Search(
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
  std::vector<ScoredItem> out;
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
  std::sort(out.begin(), out.end(), RankingOrder());
  return out;
}

namespace {

// Scores the rows `row_at(0 .. count)` of `vectors` against `query`.
template <typename RowAt>
std::vector<ScoredItem> ExactAmong(Eigen::Ref<const FactorMatrix> vectors,
                                   IndexSpace space,
                                   absl::Span<const float> query,
                                   Eigen::Index count, RowAt row_at,
                                   int32_t k) {
  const int32_t d = static_cast<int32_t>(vectors.cols());
  if (k < 1 || query.size() != static_cast<size_t>(d) || count == 0) {
    return {};
  }
  const size_t keep = static_cast<size_t>(std::min<Eigen::Index>(k, count));
  std::vector<float> q(query.begin(), query.end());
  std::vector<float> normalized(d);
  if (space == IndexSpace::kCosine) NormalizeInto(query.data(), d, q.data());
  TopK<> top(keep);
  for (Eigen::Index j = 0; j < count; ++j) {
    const int32_t r = row_at(j);
    const float* v = vectors.row(r).data();
    if (space == IndexSpace::kCosine) {
      NormalizeInto(v, d, normalized.data());
      v = normalized.data();
    }
    top.Offer({r, Dot(q.data(), v, d)});
  }
  return top.Take();
}

}  // namespace

std::vector<ScoredItem> ExactNeighbors(Eigen::Ref<const FactorMatrix> vectors,
                                       IndexSpace space,
                                       absl::Span<const float> query,
                                       int32_t k) {
  return ExactAmong(
      vectors, space, query, vectors.rows(),
      [](Eigen::Index j) { return static_cast<int32_t>(j); }, k);
}

std::vector<ScoredItem> ExactNeighborsAmong(
    Eigen::Ref<const FactorMatrix> vectors, IndexSpace space,
    absl::Span<const float> query, absl::Span<const int32_t> rows, int32_t k) {
  return ExactAmong(
      vectors, space, query, static_cast<Eigen::Index>(rows.size()),
      [rows](Eigen::Index j) { return rows[j]; }, k);
}

}  // namespace recserve