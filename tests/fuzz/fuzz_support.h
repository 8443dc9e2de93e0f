#ifndef RECSERVE_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define RECSERVE_TESTS_FUZZ_FUZZ_SUPPORT_H_

// Shared by the fuzz targets (tests/fuzz/*_fuzz.cc): a file whose contents a
// target replaces per input, a checked-invariant macro, and a UTF-8 check.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/data/item_metadata.h"
#include "core/data/ratings.h"
#include "core/model/attribute_map.h"
#include "core/model/mf_model.h"

// Aborts with the failed condition and its location: libFuzzer (and the
// replay driver) report an abort as a crash and keep the input.
#define FUZZ_CHECK(condition)                                                 \
  do {                                                                        \
    if (!(condition)) ::recserve::fuzz::Fail(#condition, __FILE__, __LINE__); \
  } while (false)

namespace recserve::fuzz {

[[noreturn]] void Fail(const char* condition, const char* file, int line);

// An anonymous in-memory file (memfd) that readers open by path. Not
// thread-safe; one per target.
class MemoryFile {
 public:
  explicit MemoryFile(const char* name);
  ~MemoryFile();
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;

  // Replaces the contents and returns a path that opens them.
  const std::string& Write(absl::string_view bytes);

 private:
  int fd_ = -1;
  std::string path_;
};

// A folder under $TMPDIR (or /tmp) that lives until the process exits.
const std::string& ScratchDir();

// Writes `bytes` to `path` (no fsync: fuzzing writes thousands of files a
// second). Aborts on error.
void WriteBytes(const std::string& path, absl::string_view bytes);

bool IsValidUtf8(absl::string_view text);

// How many cold items the request fuzzer's snapshots append.
inline constexpr int32_t kFuzzColdItems = 5;

// Publishes testutil::MakeTinyModel(7 users, 10 items, 4 factors) with
// retrieval embeddings (format 2) and its catalog under `root`; returns the
// version name. With `fold_in`, also ridge fold-in parameters with a
// recency weighting (format 6: each user's seen order too), so that
// requests may carry recent interactions. With `cold_items` > 0
// (needs `fold_in`; format 5), that many cold items "i10", "i11", ... follow
// (see AppendColdItems below). Aborts on error.
std::string PublishTinySnapshot(const std::string& root, bool fold_in = false,
                                int32_t cold_items = 0);

// Publishes testutil::MakeImplicitFixture(7 users, 12 items, 3 factors), an
// implicit-feedback snapshot (format 4: events "view", "cart", "purchase"
// and the negative "dislike", no rating model) under `root`; returns the
// version name. With `cold_items` > 0 (format 5), that many cold items
// "i12", "i13", ... follow (see AppendColdItems below). Aborts on error.
std::string PublishTinyImplicitSnapshot(const std::string& root,
                                        int32_t cold_items = 0);

// Appends `count` cold items to `train`'s item map (ids "i<n>", "i<n+1>",
// ... for n warm items), `catalog`, the retrieval `embeddings` and, when
// not null, `model`'s item factors and biases, and fills `attributes`. Cold
// item j copies the genres of warm item j % n (none when that one has no
// catalog entry) and, for odd j, adds "New", a genre no warm item has; its
// title "New <id> part ★" shares the word "part" with the tiny
// model's even items. The spec is BuildAttributeSpec over the warm items
// (default options), the maps (a rating map only with `model`) hold seeded
// random weights, and the cold items' rows are the maps applied to their
// attributes, as the trainer publishes them. Aborts on error.
void AppendColdItems(int32_t count, Dataset* train, ItemCatalog* catalog,
                     FactorMatrix* embeddings, MfModel* model,
                     ItemAttributeModel* attributes);

}  // namespace recserve::fuzz

#endif  // RECSERVE_TESTS_FUZZ_FUZZ_SUPPORT_H_
