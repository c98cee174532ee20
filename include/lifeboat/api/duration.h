#pragma once

// Go's time.Duration text form, which Velero uses for every metav1.Duration field (ttl,
// csiSnapshotTimeout, hook timeouts, ...): "1h30m0s", "720h0m0s", "1.5h", "300ms", "-2m".
//
// Thread safety: pure functions.

#include <chrono>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"

namespace lifeboat::api {

using Duration = std::chrono::nanoseconds;

// Parses exactly what Go's time.ParseDuration accepts: an optional sign, then one or more
// decimal numbers with a unit (ns, us, µs, μs, ms, s, m, h); "0" alone is allowed.
// InvalidArgument with Go's messages: `time: invalid duration "x"`,
// `time: missing unit in duration "1"`, `time: unknown unit "d" in duration "1d"`.
StatusOr<Duration> ParseGoDuration(std::string_view text);

// Formats as Go's Duration.String(): "0s", "1.5µs", "300ms", "1h0m0s", "-1m30s".
std::string FormatGoDuration(Duration d);

}  // namespace lifeboat::api
