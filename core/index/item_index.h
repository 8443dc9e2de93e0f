#ifndef RECSERVE_CORE_INDEX_ITEM_INDEX_H_
#define RECSERVE_CORE_INDEX_ITEM_INDEX_H_

// An approximate nearest-neighbour index over item vectors (HNSW, hnswlib),
// for the server's retrieval and SimilarItems.
//
// Spaces:
//  - kInnerProduct ranks by the dot product q·v, what retrieval scores mean
//    (hnswlib's inner-product space, which held up on heavy-tailed norms
//    where the MIPS-to-L2 augmentation collapses: docs/benchmarks.md);
//  - kCosine ranks by cos(q, v): rows are normalized when the index is built
//    and queries when searched; a zero row stays zero (similarity 0 to all).
//
// Results are ScoredItem (item = row of the indexed matrix; score = q·v for
// kInnerProduct, cos(q, v) for kCosine) in RankingOrder (core/base/top_k.h).
//
// hnswlib throws on errors (and may crash on a corrupt file); this class is
// the boundary: every error comes back as a Status, and hnswlib never reads
// a file: Load reads it, verifies its CRC-32s and checks the graph's
// structure before the graph is searched.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "Eigen/Core"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/base/top_k.h"
#include "core/model/mf_model.h"

namespace recserve {

enum class IndexSpace { kInnerProduct, kCosine };

// "ip" / "cosine".
const char* IndexSpaceName(IndexSpace space);

struct ItemIndexOptions {
  // Graph degree (hnswlib M), 2..10000. Default 16.
  int32_t m = 16;
  // Build-time search breadth, >= 1 (hnswlib uses max(ef_construction, m)).
  // Default 200.
  int32_t ef_construction = 200;
  // Worker threads for building, >= 0; 0 = all cores. The graph depends on
  // the thread count (insertion order), the recall does not measurably.
  int32_t threads = 0;
  // hnswlib's level generator seed. Default 100.
  uint64_t seed = 100;
};

// Immutable after Build or Load: Search, Save and the accessors may be called
// from any number of threads at once. Build and Load share no state and may
// also run concurrently.
class ItemIndex final {
 public:
  // Indexes every row of `vectors` (row i = item i); the index holds its own
  // copy. Errors: InvalidArgument for an empty matrix, zero columns, more
  // than 2^31 - 1 rows, non-finite values or options outside their ranges;
  // ResourceExhausted when hnswlib cannot allocate.
  static absl::StatusOr<std::unique_ptr<ItemIndex>> Build(
      Eigen::Ref<const FactorMatrix> vectors, IndexSpace space,
      const ItemIndexOptions& options);

  // Reads an index written by Save and restores its options() (m,
  // ef_construction, threads and seed as built). `vectors` must be the
  // matrix it was built from: its shape and a CRC-32 of its bytes are
  // checked; the search does not read it. Errors, each naming the path:
  // NotFound for a missing file (other I/O errors as errno maps them);
  // DataLoss for a file that is not an index, is truncated, fails a CRC-32
  // or holds an inconsistent graph; FailedPrecondition for a format version
  // this code does not read; InvalidArgument when the file's space,
  // dimensions, item count or vectors differ from the arguments;
  // ResourceExhausted when memory runs out.
  static absl::StatusOr<std::unique_ptr<ItemIndex>> Load(
      const std::string& path, Eigen::Ref<const FactorMatrix> vectors,
      IndexSpace space);

  // The index of `base`'s items followed by `new_rows` (row r = item
  // base->size() + r), made by inserting the new rows into `base`'s graph
  // (no rebuild: what adding a few items to a large saved index costs);
  // `base` is consumed. The result is what Build would make of the whole
  // matrix up to the graph's insertion order: Load and Save treat it like
  // any other (its source CRC-32 is that of the whole matrix), and it keeps
  // `base`'s options but for `threads`, the insertion workers (>= 0; 0 = all
  // cores). Errors: InvalidArgument for a null base, a width other than
  // dimensions(), non-finite values, more than 2^31 - 1 items in all or
  // threads < 0; ResourceExhausted when hnswlib cannot allocate (base is
  // lost then too).
  static absl::StatusOr<std::unique_ptr<ItemIndex>> Extend(
      std::unique_ptr<ItemIndex> base, Eigen::Ref<const FactorMatrix> new_rows,
      int32_t threads);

  ~ItemIndex();
  ItemIndex(const ItemIndex&) = delete;
  ItemIndex& operator=(const ItemIndex&) = delete;

  // Writes the index to `path` (one file) atomically: a temporary file in the
  // same folder, fsynced, renamed over `path`, then the folder fsynced;
  // readers see the old file or the complete new one, and a failed Save
  // leaves no temporary file behind. Errors: the I/O error naming the path.
  absl::Status Save(const std::string& path) const;

  // The (up to) k items best for `query` (dimensions() floats), best first
  // (ties to the lower item), searching with breadth max(ef, k). k is
  // clamped to size(). Scores are recomputed exactly (in float) for the
  // items found, not taken from hnswlib's rounded 1 − q·v. Errors:
  // InvalidArgument for a wrong query length, a non-finite query value,
  // k < 1 or ef < 1; ResourceExhausted when memory runs out.
  absl::StatusOr<std::vector<ScoredItem>> Search(absl::Span<const float> query,
                                                 int32_t k, int32_t ef) const;

  IndexSpace space() const { return space_; }
  int32_t dimensions() const { return dimensions_; }
  int32_t size() const { return size_; }
  const ItemIndexOptions& options() const { return options_; }

 private:
  struct Graph;  // hnswlib's space and graph
  ItemIndex(IndexSpace space, int32_t dimensions, int32_t size,
            const ItemIndexOptions& options, uint32_t source_crc32);

  // All constant after Build or Load.
  IndexSpace space_;
  int32_t dimensions_;
  int32_t size_;
  ItemIndexOptions options_;
  uint32_t source_crc32_;  // of the indexed matrix's rows, as given
  std::unique_ptr<Graph> graph_;
};

// The exact answer Search approximates: every item scored (with the same
// float arithmetic as Search's scores), best first, ties to the lower index;
// NaN scores rank last. k is clamped to the number of rows; the result is
// empty when k < 1 or query.size() != vectors.cols(). Thread-safe. For
// tests, benchmarks and exact retrieval.
std::vector<ScoredItem> ExactNeighbors(Eigen::Ref<const FactorMatrix> vectors,
                                       IndexSpace space,
                                       absl::Span<const float> query,
                                       int32_t k);
// The same among `rows` only (each in [0, vectors.rows()); a row listed
// twice may be kept twice): the exact answer of a search restricted to them.
std::vector<ScoredItem> ExactNeighborsAmong(
    Eigen::Ref<const FactorMatrix> vectors, IndexSpace space,
    absl::Span<const float> query, absl::Span<const int32_t> rows, int32_t k);

}  // namespace recserve

#endif  // RECSERVE_CORE_INDEX_ITEM_INDEX_H_
