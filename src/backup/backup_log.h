#pragma once

// The backup engine uses the engines' shared Velero log (src/engine/velero_log.h) under its own
// namespace.

#include "src/engine/velero_log.h"

namespace lifeboat::backup {

using engine::BackupLog;
using engine::LogFields;
using engine::LogfmtValue;
using engine::LogKind;
using engine::Result;

}  // namespace lifeboat::backup
