#pragma once

// Files that hold credentials (private to the controller module): a location's credential
// Secret written where its driver or snapshotter can read it, and nobody else.

#include <filesystem>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"

namespace lifeboat::controller {

// `s` made safe as one path segment: characters other than [A-Za-z0-9._-] become '_', and "",
// "." and ".." get a leading '_' (so a name can never climb out of its directory).
std::string SafeSegment(std::string_view s);

// Writes `data` to `path` through a uniquely named temporary file that is created 0600 (never
// readable by others, not even for a moment) and then renamed over the old file; creates the
// parent directory and makes it 0700. Internal on failure (the message names the directory,
// never the data).
Status WritePrivateFile(const std::filesystem::path& path, std::string_view data);

}  // namespace lifeboat::controller
