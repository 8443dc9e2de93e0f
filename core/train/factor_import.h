#ifndef RECSERVE_CORE_TRAIN_FACTOR_IMPORT_H_
#define RECSERVE_CORE_TRAIN_FACTOR_IMPORT_H_

// Imports factors trained elsewhere (Spark ALS, implicit, Surprise, ...) as
// an MfModel that PublishSnapshot can publish like one trained here.
//
// Factor file format, one file for users and one for items:
//   [header line]
//   id <d> bias <d> f1 <d> f2 ... <d> fk
// where <d> is a comma, a tab or runs of spaces, detected from the first
// non-blank line (a tab if it has one, else a comma if it has one, else
// spaces). Around comma and tab delimiters, spaces are trimmed. The first
// line is a header if any field after the id is not a number. Ids are
// strings, kept as written (after trimming) and matched against the rating
// file's ids; every row has the same number of columns, at least 2 (k = 0 is
// a bias-only model); values must be finite. Blank lines are skipped; "\r\n"
// endings and a UTF-8 BOM are accepted. Models without biases (Spark ALS)
// write 0 in the bias column.
//
// Retrieval embedding files (optional, one for users and one for items) are
// read the same way but have no bias column:
//   [header line]
//   id <d> f1 <d> f2 ... <d> fk
// with k >= 1, the same k in both files (it may differ from the factor
// files'). Every imported user and item (every row of the factor files) must
// have a row; rows for other ids are counted and ignored. The embeddings are
// re-indexed like the factors, so that PublishSnapshot writes a format-2
// snapshot (see snapshot_writer.h).

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/data/ratings.h"
#include "core/model/mf_model.h"
#include "core/model/retrieval_model.h"

namespace recserve {

struct ImportOptions {
  // Paths of the two factor files. Required.
  std::string user_factors_path;
  std::string item_factors_path;
  // The model's global mean μ. Default (unset): the mean of the ratings used
  // (those whose user and item both have factors), right for biased MF
  // trained on those ratings. Set it to 0 for a model that predicts p·q
  // alone, such as Spark ALS.
  std::optional<float> global_mean;
  // Paths of the two retrieval embedding files: both or neither (empty).
  // Default: neither, and ImportResult::retrieval is empty.
  std::string user_embeddings_path;
  std::string item_embeddings_path;
};

// What one factor or embedding file held.
struct FactorFileReport {
  std::string path;
  char delimiter = ',';  // ',', '\t' or ' '
  bool has_header = false;
  int64_t rows = 0;
};

struct ImportReport {
  FactorFileReport user_file;
  FactorFileReport item_file;
  int32_t factors = 0;
  // Ratings in the input Dataset, and how many of them were kept (both
  // sides have factors) and dropped (either side has none).
  int64_t ratings_read = 0;
  int64_t ratings_used = 0;
  int64_t ratings_dropped = 0;
  // Of the dropped: ratings whose user has no factors, and whose item has
  // none (a rating missing both counts in both).
  int64_t ratings_without_user_factors = 0;
  int64_t ratings_without_item_factors = 0;
  // Users / items that have factors but no used rating (kept in the model;
  // they have no seen items and zero popularity).
  int32_t users_without_ratings = 0;
  int32_t items_without_ratings = 0;
  float global_mean = 0.0f;
  bool global_mean_from_ratings = true;
  // With embedding files (else empty paths and zeros): what they held, their
  // width k, and how many of their rows were ignored because their id is not
  // an imported user / item.
  FactorFileReport user_embeddings_file;
  FactorFileReport item_embeddings_file;
  int32_t retrieval_factors = 0;
  int64_t user_embeddings_ignored = 0;
  int64_t item_embeddings_ignored = 0;
};

struct ImportResult {
  // Id maps in factor-file row order, and the used ratings re-indexed into
  // them: pass as SnapshotContents::train.
  Dataset train;
  // Biases and factors from the files; global mean as ImportOptions says;
  // rating scale inferred from the used ratings.
  MfModel model;
  // With embedding files: the embeddings, rows indexed like train's users
  // and items (pass as SnapshotContents::retrieval); loss_history empty.
  std::optional<RetrievalModel> retrieval;
  ImportReport report;
};

// Reads both factor files (and the embedding files, if given) and joins them
// with `ratings` (e.g. from ReadRatings). Errors: NotFound (or another I/O
// status) for a missing file; InvalidArgument "<path>:<line>: ..." for a
// malformed row (wrong column count, a field that is not a finite number, an
// empty or duplicate id), InvalidArgument naming the path for a file without
// rows, for user and item files with different factor counts and for an
// embedding file without a row for an imported user or item (naming the
// first such id); FailedPrecondition if no rating has factors on both sides
// (usually swapped files or ids that do not match); InvalidArgument if
// options.global_mean is not finite or only one embedding path is given.
// Thread-compatible: no shared state.
absl::StatusOr<ImportResult> ImportFactors(const ImportOptions& options,
                                           const Dataset& ratings);

}  // namespace recserve

#endif  // RECSERVE_CORE_TRAIN_FACTOR_IMPORT_H_
