#ifndef RECSERVE_SERVER_LOG_H_
#define RECSERVE_SERVER_LOG_H_

// Levelled logging to stderr: one line per event, with a UTC timestamp and
// the level, e.g.
//   2026-11-23T12:00:00.123Z INFO loaded snapshot v000003 ...
// The server logs start-up, loads, reloads, rejections and shutdown; nothing
// per request. Thread-safe (each line is one write).

#include <string>

#include "absl/strings/str_cat.h"

namespace recserve::server {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Lines below this level are dropped. Default kInfo. Set once at start-up.
void SetLogLevel(LogLevel level);
// "debug", "info", "warning" or "error"; false for anything else.
bool ParseLogLevel(const std::string& name, LogLevel* level);

void LogLine(LogLevel level, const std::string& message);

template <typename... Args>
void LogInfo(const Args&... args) {
  LogLine(LogLevel::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  LogLine(LogLevel::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void LogError(const Args&... args) {
  LogLine(LogLevel::kError, absl::StrCat(args...));
}

}  // namespace recserve::server

#endif  // RECSERVE_SERVER_LOG_H_
