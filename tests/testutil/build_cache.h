#ifndef RECSERVE_TESTS_TESTUTIL_BUILD_CACHE_H_
#define RECSERVE_TESTS_TESTUTIL_BUILD_CACHE_H_

// Expensive fixtures (a trained snapshot) made once per build and copied
// into each test's folder. ctest runs every test in its own process, so a
// suite's SetUpTestSuite runs once per test; under the sanitizers training
// alone took most of the server and CLI suites' time.

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace recserve::testutil {

// Copies into `dir` (created if missing) the files `make` writes into the
// folder it is given for `key`. `make` runs at most once per key and build
// (cache under RECSERVE_TEST_CACHE_DIR, keyed also by the core libraries'
// sizes and times, so rebuilt code makes fixtures again); concurrent
// processes wait for the first one's result (flock). A failed `make` is not
// cached. Errors: make's, or the file system's, naming the path.
absl::Status CopyCachedFixture(
    const std::string& key, const std::string& dir,
    const std::function<absl::Status(const std::string& into)>& make);

}  // namespace recserve::testutil

#endif  // RECSERVE_TESTS_TESTUTIL_BUILD_CACHE_H_
