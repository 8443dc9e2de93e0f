// recserve-train import: factors trained elsewhere, published as a snapshot.

#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/types/optional.h"
#include "core/base/status_macros.h"
#include "core/pipeline/import_pipeline.h"
#include "trainer/commands.h"
#include "trainer/console_output.h"

ABSL_DECLARE_FLAG(absl::optional<int32_t>, candidates);
ABSL_DECLARE_FLAG(absl::optional<float>, blend_weight);

// import.
ABSL_FLAG(std::string, user_factors, "",
          "import: user factor file, rows 'id, bias, f1..fk'.");
ABSL_FLAG(std::string, item_factors, "",
          "import: item factor file, rows 'id, bias, f1..fk'.");
ABSL_FLAG(std::string, user_embeddings, "",
          "import: optional user retrieval embeddings, rows 'id, f1..fk'.");
ABSL_FLAG(std::string, item_embeddings, "",
          "import: optional item retrieval embeddings, rows 'id, f1..fk'.");
ABSL_FLAG(absl::optional<float>, global_mean, absl::nullopt,
          "import: global mean μ (default: the ratings' mean).");

namespace recserve {

absl::Status RunImport() {
  ImportPipelineOptions o;
  o.factors.user_factors_path = absl::GetFlag(FLAGS_user_factors);
  o.factors.item_factors_path = absl::GetFlag(FLAGS_item_factors);
  o.factors.user_embeddings_path = absl::GetFlag(FLAGS_user_embeddings);
  o.factors.item_embeddings_path = absl::GetFlag(FLAGS_item_embeddings);
  if (const auto mean = absl::GetFlag(FLAGS_global_mean))
    o.factors.global_mean = *mean;
  if (o.factors.user_factors_path.empty() ||
      o.factors.item_factors_path.empty() || RatingsFlag().empty() ||
      OutFlag().empty()) {
    return absl::InvalidArgumentError(
        "import needs --user_factors FILE --item_factors FILE --ratings FILE "
        "--out DIR");
  }
  ASSIGN_OR_RETURN(o.data, SourceFromFlags());
  if (const auto c = absl::GetFlag(FLAGS_candidates)) o.ranking.candidates = *c;
  if (const auto w = absl::GetFlag(FLAGS_blend_weight))
    o.ranking.blend_weight = *w;
  o.output = OutputFromFlags();
  ASSIGN_OR_RETURN(const ImportRun run, RunImportPipeline(o, PrintRead));
  PrintImported(run);
  return absl::OkStatus();
}

}  // namespace recserve
