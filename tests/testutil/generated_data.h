#ifndef RECSERVE_TESTS_TESTUTIL_GENERATED_DATA_H_
#define RECSERVE_TESTS_TESTUTIL_GENERATED_DATA_H_

#include "core/data/split.h"
#include "core/synthetic/synthetic_generator.h"

namespace recserve::testutil {

// A generated data set split for evaluation, and the noise floor the
// generator reported for it.
struct GeneratedSplit {
  TrainTest data;
  double noise_floor = 0;
};

// Generates 2,000 users × 1,000 items × 200K ratings (σ = 0.5, seed 2024,
// the given exposure β), reads them back with the real reader into a
// temporary directory that is removed again, and splits them with `split`
// (e.g. the trainer's default "random:0.1"). Fails the test on error.
GeneratedSplit GenerateAndSplit(double exposure_taste, const char* split);

}  // namespace recserve::testutil

#endif  // RECSERVE_TESTS_TESTUTIL_GENERATED_DATA_H_
