#include "lifeboat/api/time.h"

#include "absl/time/time.h"

namespace lifeboat::api {

std::string FormatRfc3339(TimePoint t) {
  absl::Time at = absl::FromChrono(std::chrono::time_point_cast<std::chrono::seconds>(t));
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", at, absl::UTCTimeZone());
}

StatusOr<TimePoint> ParseRfc3339(std::string_view text) {
  absl::Time t;
  std::string err;
  // RFC3339_full accepts an optional fraction and Z / +hh:mm; reject lowercase 't'/'z' and
  // anything before year 0 like Go does by construction of the layout.
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) {
    return absl::InvalidArgumentError("invalid RFC 3339 time \"" + std::string(text) + "\"");
  }
  return absl::ToChronoTime(t);
}

}  // namespace lifeboat::api
