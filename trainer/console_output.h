#ifndef RECSERVE_TRAINER_CONSOLE_OUTPUT_H_
#define RECSERVE_TRAINER_CONSOLE_OUTPUT_H_

// What recserve-train prints: progress on stdout as the pipeline reports it,
// warnings on stderr.

#include <string>

#include "core/pipeline/import_pipeline.h"
#include "core/pipeline/training_pipeline.h"
#include "core/synthetic/synthetic_generator.h"

namespace recserve {

// Prints every step of a training run; borrows `options`, which must outlive
// the observer.
PipelineObserver ConsoleObserver(const TrainingPipelineOptions& options);

// After the run: genre agreement, refit, indexes and the published version.
void PrintOutcome(const TrainingRun& run);

// The counts read, duplicates dropped and bad lines skipped.
void PrintRead(const std::string& path, const RatingReadReport& report);

void PrintGenerated(const GeneratorReport& report);
void PrintImported(const ImportRun& run);

// A progress indicator on stderr for files of 64 MB or more: redrawn on a
// terminal, a line every 25% otherwise.
std::function<void(int64_t, int64_t)> ReadProgress();
// The generator's percentage on a terminal; nothing otherwise.
std::function<void(int64_t, int64_t)> GenerateProgress();

}  // namespace recserve

#endif  // RECSERVE_TRAINER_CONSOLE_OUTPUT_H_
