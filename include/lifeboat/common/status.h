#pragma once

// Error handling shared by every module: absl::Status / absl::StatusOr plus the macros that
// propagate them, and helpers that add context as an error crosses a layer.

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lifeboat {

using absl::Status;
using absl::StatusOr;

// Returns `status` with "context: " prepended to its message; the code is kept.
// An OK status is returned unchanged.
Status Annotate(const Status& status, std::string_view context);

// True for the codes that a retry may cure (STYLE.md: Unavailable, DeadlineExceeded, Aborted).
bool IsRetryable(const Status& status);

namespace internal {
[[noreturn]] void CheckFailed(const char* file, int line, const char* condition,
                              std::string_view message);
}  // namespace internal

}  // namespace lifeboat

#define LIFEBOAT_STATUS_CONCAT_INNER(a, b) a##b
#define LIFEBOAT_STATUS_CONCAT(a, b) LIFEBOAT_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define LIFEBOAT_RETURN_IF_ERROR(expr)                  \
  do {                                                  \
    ::absl::Status lifeboat_status_ = (expr);           \
    if (!lifeboat_status_.ok()) return lifeboat_status_; \
  } while (false)

// Evaluates `expr` (an absl::StatusOr<T>); returns its status if not OK, otherwise moves the
// value into `lhs` (which may be a declaration: `LIFEBOAT_ASSIGN_OR_RETURN(auto x, F())`).
#define LIFEBOAT_ASSIGN_OR_RETURN(lhs, expr) \
  LIFEBOAT_ASSIGN_OR_RETURN_IMPL(LIFEBOAT_STATUS_CONCAT(lifeboat_statusor_, __LINE__), lhs, expr)

#define LIFEBOAT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

// For true invariants only: never for input from outside the process (STYLE.md).
#define LIFEBOAT_CHECK(cond)                                                 \
  do {                                                                       \
    if (!(cond)) ::lifeboat::internal::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (false)
