#include "server/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace recserve::server {
namespace {

std::atomic<int> min_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { min_level = static_cast<int>(level); }

bool ParseLogLevel(const std::string& name, LogLevel* level) {
  for (const LogLevel l : {LogLevel::kDebug, LogLevel::kInfo,
                           LogLevel::kWarning, LogLevel::kError}) {
    std::string lower = LevelName(l);
    for (char& c : lower) c = static_cast<char>(c - 'A' + 'a');
    if (name == lower) {
      *level = l;
      return true;
    }
  }
  return false;
}

void LogLine(LogLevel level, const std::string& message) {
  if (static_cast<int>(level) < min_level) return;
  const std::string line =
      absl::StrCat(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                    absl::UTCTimeZone()),
                   " ", LevelName(level), " ", message, "\n");
  // One write per line, so concurrent lines do not interleave.
  [[maybe_unused]] const ssize_t written =
      ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace recserve::server
