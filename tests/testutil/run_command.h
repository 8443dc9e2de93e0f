#ifndef RECSERVE_TESTS_TESTUTIL_RUN_COMMAND_H_
#define RECSERVE_TESTS_TESTUTIL_RUN_COMMAND_H_

// Runs a program as a child process, for tests of command-line tools.

#include <string>
#include <vector>

namespace recserve {
namespace testutil {

struct CommandResult {
  int exit_code = -1;  // -1 if it could not start or did not exit normally
  std::string out;     // stdout and stderr, interleaved
};

// Runs `argv` (argv[0] is a path, not looked up in PATH) with stdout and
// stderr captured, and waits for it. A program that cannot be executed exits
// with 127, as in a shell. Blocks until the child exits. The child inherits
// every open file descriptor.
CommandResult RunCommand(const std::vector<std::string>& argv);

}  // namespace testutil
}  // namespace recserve

#endif  // RECSERVE_TESTS_TESTUTIL_RUN_COMMAND_H_
