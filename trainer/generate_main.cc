// recserve-train generate: the synthetic data generator's flags.

#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/base/status_macros.h"
#include "core/synthetic/synthetic_generator.h"
#include "trainer/commands.h"
#include "trainer/console_output.h"

ABSL_DECLARE_FLAG(std::string, items);

// generate.
ABSL_FLAG(int32_t, users, 2000, "generate: number of users.");
ABSL_FLAG(double, noise, 0.5, "generate: σ of the rating noise.");
ABSL_FLAG(int32_t, latent_factors, 2,
          "generate: rank of the hidden taste structure.");
ABSL_FLAG(double, exposure_taste, 3.0,
          "generate: β of P(rated) ∝ popularity · exp(β · taste); 0 = "
          "popularity alone.");
ABSL_FLAG(int32_t, genres, 8, "generate: number of made-up genres.");
ABSL_FLAG(bool, events, false,
          "generate: an event log (view, cart, purchase, dislike with counts) "
          "instead of ratings; --ratings is then the number of (user, item) "
          "pairs.");
namespace recserve {
namespace {

absl::StatusOr<int64_t> ParseCount(const char* flag, const std::string& text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("generate: --", flag,
                     " must be a positive whole number, got '", text, "'"));
  }
  return value;
}

}  // namespace

absl::Status RunGenerate() {
  GeneratorOptions o;
  o.users = absl::GetFlag(FLAGS_users);
  const std::string items = absl::GetFlag(FLAGS_items), ratings = RatingsFlag();
  ASSIGN_OR_RETURN(const int64_t item_count,
                   ParseCount("items", items.empty() ? "1000" : items));
  o.items = static_cast<int32_t>(item_count);
  ASSIGN_OR_RETURN(o.ratings,
                   ParseCount("ratings", ratings.empty() ? "200000" : ratings));
  o.noise = absl::GetFlag(FLAGS_noise);
  o.seed = SeedFlag();
  o.latent_factors = absl::GetFlag(FLAGS_latent_factors);
  o.genres = absl::GetFlag(FLAGS_genres);
  o.exposure_taste = absl::GetFlag(FLAGS_exposure_taste);
  o.events = absl::GetFlag(FLAGS_events);
  o.threads = ThreadsFlag();
  o.out = OutFlag();
  if (o.out.empty()) {
    return absl::InvalidArgumentError("generate: --out FILE is required");
  }
  o.progress = GenerateProgress();
  ASSIGN_OR_RETURN(const GeneratorReport r, GenerateSyntheticData(o));
  PrintGenerated(r);
  return absl::OkStatus();
}

}  // namespace recserve
