#pragma once

// RFC 3339 timestamps as Kubernetes' metav1.Time writes them: UTC, second precision
// ("2026-05-01T02:00:00Z"). Velero's objects carry them as strings; these helpers convert.
//
// Thread safety: pure functions.

#include <chrono>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"

namespace lifeboat::api {

using TimePoint = std::chrono::system_clock::time_point;

// "2006-01-02T15:04:05Z" in UTC; sub-second precision is truncated as metav1.Time does.
std::string FormatRfc3339(TimePoint t);

// Accepts RFC 3339 with an optional fraction and a "Z" or "+hh:mm" offset (what Go's
// time.RFC3339 parser accepts). InvalidArgument `invalid RFC 3339 time "x"` otherwise.
StatusOr<TimePoint> ParseRfc3339(std::string_view text);

}  // namespace lifeboat::api
