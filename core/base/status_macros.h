#ifndef RECSERVE_CORE_BASE_STATUS_MACROS_H_
#define RECSERVE_CORE_BASE_STATUS_MACROS_H_

// Early-return helpers for absl::Status / absl::StatusOr<T>, in the spirit of
// the macros Abseil uses internally but does not export in the 2022 release.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define RECSERVE_CONCAT_INNER_(a, b) a##b
#define RECSERVE_CONCAT_(a, b) RECSERVE_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the calling function
// when it is not OK.
#define RETURN_IF_ERROR(expr)                           \
  do {                                                  \
    if (absl::Status _status = (expr); !_status.ok()) { \
      return _status;                                   \
    }                                                   \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, MakeX());` assigns the value of an
// absl::StatusOr<T> or returns its status from the calling function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(RECSERVE_CONCAT_(_statusor_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)        \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)

#endif  // RECSERVE_CORE_BASE_STATUS_MACROS_H_
