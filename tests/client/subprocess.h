#ifndef RECSERVE_TESTS_CLIENT_SUBPROCESS_H_
#define RECSERVE_TESTS_CLIENT_SUBPROCESS_H_

// Child processes for the client tests: run a command to completion with a
// time limit and separate stdout / stderr, or keep one running in the
// background (the server). Header-only; test use only.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

extern char** environ;

namespace recserve::client_test {

inline std::string SlurpFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A child process started with posix_spawn, stdout and stderr going to
// files; killed (SIGKILL) if still running when destroyed.
class ChildProcess final {
 public:
  // Starts `argv` (argv[0] a path). `extra_env` entries ("NAME=value") are
  // added to this process's environment. started() says whether it ran.
  ChildProcess(const std::vector<std::string>& argv, const std::string& out,
               const std::string& err,
               const std::vector<std::string>& extra_env = {}) {
    std::vector<std::string> args = argv;
    std::vector<char*> c_args;
    for (std::string& a : args) c_args.push_back(a.data());
    c_args.push_back(nullptr);
    std::vector<std::string> env = extra_env;
    std::vector<char*> c_env;
    for (std::string& e : env) c_env.push_back(e.data());
    for (char** e = environ; *e != nullptr; ++e) c_env.push_back(*e);
    c_env.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, c_args[0], &actions, nullptr, c_args.data(),
                    c_env.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  void Signal(int signal) const {
    if (pid_ > 0) ::kill(pid_, signal);
  }
  // The exit code; -1 if it was killed by a signal; -2 if it is still
  // running after `limit` (it is then killed).
  int Wait(absl::Duration limit) {
    if (pid_ <= 0) return -1;
    const absl::Time end = absl::Now() + limit;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) != pid_) {
      if (absl::Now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
        return -2;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

struct RunResult {
  int exit_code = -1;  // -1 killed by a signal or not started, -2 timed out
  std::string out;
  std::string err;
};

// Runs `argv` to completion (at most `limit`), with stdout and stderr
// captured through files under `scratch_dir`.
inline RunResult RunProcess(const std::vector<std::string>& argv,
                            const std::string& scratch_dir,
                            absl::Duration limit = absl::Seconds(60),
                            const std::vector<std::string>& extra_env = {}) {
  static int counter = 0;
  const std::string base = absl::StrCat(scratch_dir, "/run", ++counter);
  RunResult result;
  {
    ChildProcess child(argv, base + ".out", base + ".err", extra_env);
    result.exit_code = child.Wait(limit);
  }
  result.out = SlurpFile(base + ".out");
  result.err = SlurpFile(base + ".err");
  return result;
}

}  // namespace recserve::client_test

#endif  // RECSERVE_TESTS_CLIENT_SUBPROCESS_H_
