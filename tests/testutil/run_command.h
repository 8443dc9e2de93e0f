#ifndef RECSERVE_TESTS_TESTUTIL_RUN_COMMAND_H_
#define RECSERVE_TESTS_TESTUTIL_RUN_COMMAND_H_

#include <string>
#include <vector>

namespace recserve::testing {

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;     // stdout and stderr, interleaved
};

// Runs `argv` (argv[0] is a path, not looked up in PATH) with stdout and
// stderr captured, and waits for it.
CommandResult RunCommand(const std::vector<std::string>& argv);

// A new empty directory under the test temp dir.
std::string MakeTempDir();

// Writes `contents` to `path`, failing the test on error.
void WriteFile(const std::string& path, const std::string& contents);
std::string ReadFile(const std::string& path);

}  // namespace recserve::testing

#endif  // RECSERVE_TESTS_TESTUTIL_RUN_COMMAND_H_
