#ifndef RECSERVE_CORE_INDEX_ITEM_INDEX_FILE_H_
#define RECSERVE_CORE_INDEX_ITEM_INDEX_FILE_H_

// Internal to ItemIndex (core/index/item_index.cc), which is its only caller: the
// on-disk format of a saved index, its checks, and the validation of the
// graph it loads. Callers use ItemIndex::Save and ItemIndex::Load.
//
// File layout, one file (native byte order: little-endian on every target):
//   "recserve-hnsw\n"  magic, 14 bytes
//   uint32             length L of the JSON header
//   L bytes            JSON: format_version, space, dimensions, items, m,
//                      ef_construction, threads, seed, source_crc32,
//                      payload_bytes, payload_crc32
//   uint32             CRC-32 of everything above
//   payload            hnswlib 0.6.2's saveIndex stream: a 96-byte header,
//                      the level-0 block, then per element a uint32 size and
//                      its upper-level link lists.
//
// This file never includes hnswlib (its header may be included by one .cc
// only): it sees the graph as the plain memory described by HnswGraph, which
// item_index.cc fills from a live hnswlib::HierarchicalNSW<float>. hnswlib's
// own saveIndex/loadIndex are never called.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/index/item_index.h"
#include "core/model/mf_model.h"

namespace recserve {
namespace item_index_file {

// The largest graph degree m a file (and ItemIndexOptions) may hold.
inline constexpr int32_t kMaxM = 10000;

// What a file says about its index, besides the graph.
struct Header {
  IndexSpace space = IndexSpace::kInnerProduct;
  int32_t dimensions = 0;
  int32_t items = 0;
  ItemIndexOptions options;   // as built
  uint32_t source_crc32 = 0;  // SourceCrc32 of the indexed matrix
};

// The CRC-32 of `vectors`' rows, each row's bytes in order: the value of
// Header::source_crc32. Thread-safe.
uint32_t SourceCrc32(Eigen::Ref<const FactorMatrix> vectors);

// A view of an hnswlib 0.6.2 HierarchicalNSW<float> as memory. Every pointer
// is borrowed from that graph, which owns the memory and must outlive the
// view. Field names follow hnswlib's (offsetLevel0_ -> offset_level0, ...).
struct HnswGraph {
  // Layout, fixed by hnswlib's constructor.
  size_t offset_level0 = 0;
  size_t max_elements = 0;
  size_t size_data_per_element = 0;
  size_t size_links_per_element = 0;
  size_t label_offset = 0;
  size_t offset_data = 0;
  size_t max_m = 0;
  size_t max_m0 = 0;
  size_t m = 0;
  double mult = 0.0;
  size_t ef_construction = 0;
  // Memory: max_elements * size_data_per_element bytes of level 0 (links,
  // vector, label per element); per element a malloc'ed block of its upper
  // levels' lists (size_links_per_element * its level bytes), which hnswlib's
  // destructor frees for elements below *element_count whose level is > 0;
  // per element its top level.
  char* level0 = nullptr;
  char** link_lists = nullptr;
  int* element_levels = nullptr;
  // State: hnswlib's cur_element_count, maxlevel_ and enterpoint_node_.
  size_t* element_count = nullptr;
  int* max_level = nullptr;
  uint32_t* entry_point = nullptr;
};

// Writes `header` and the first *graph.element_count elements of `graph` to
// `path` atomically: a temporary file in the same folder, fsynced, renamed
// over `path`, then the folder fsynced; a failure leaves no temporary file.
// Only reads through `graph`. Errors: the I/O error naming the path. Safe to
// call concurrently as long as nothing modifies the graph.
absl::Status Write(const std::string& path, const Header& header,
                   const HnswGraph& graph);

// An index file being read, in two steps: Open checks everything up to the
// payload, then the caller builds an empty hnswlib graph for header() and
// ReadGraph fills it. Owns the open file (closed on destruction). Not
// thread-safe; distinct Readers are independent.
class Reader final {
 public:
  // Opens `path` and reads and checks its envelope and JSON header against
  // the arguments. Errors, each naming the path: NotFound for a missing file
  // (other I/O errors as errno maps them); DataLoss for a file that is not an
  // index, is truncated, fails the header CRC-32, has a malformed header or
  // a size other than its header says; FailedPrecondition for a format
  // version this code does not read; InvalidArgument when the file's space,
  // dimensions or item count differ from `space` and `vectors`' shape, or
  // its source_crc32 from SourceCrc32(vectors).
  static absl::StatusOr<std::unique_ptr<Reader>> Open(
      const std::string& path, Eigen::Ref<const FactorMatrix> vectors,
      IndexSpace space);

  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The file's header; header().space is the `space` given to Open.
  const Header& header() const { return header_; }

  // Reads the payload into `graph`, which must be freshly constructed by
  // hnswlib for header().items elements and header().options (m,
  // ef_construction): level 0 straight into graph.level0, then the link
  // lists, then checks the payload CRC-32 and the graph itself (layout
  // matches the file, every id, label, level and list size in range, no
  // deleted element) so that searching it cannot read out of bounds; sets
  // the state fields. Sets *graph.element_count before allocating any link
  // list, so that hnswlib's destructor frees them even when this fails
  // (the graph must then be discarded). Call at most once. Errors, each
  // naming the path: DataLoss for a truncated payload, a CRC-32 mismatch or
  // an inconsistent graph; ResourceExhausted when memory runs out; I/O
  // errors as errno maps them.
  absl::Status ReadGraph(const HnswGraph& graph);

 private:
  Reader(std::string path, int fd, const Header& header, uint64_t payload_bytes,
         uint32_t payload_crc32);

  const std::string path_;
  const int fd_;
  const Header header_;
  const uint64_t payload_bytes_;
  const uint32_t payload_crc32_;
};

}  // namespace item_index_file
}  // namespace recserve

#endif  // RECSERVE_CORE_INDEX_ITEM_INDEX_FILE_H_
