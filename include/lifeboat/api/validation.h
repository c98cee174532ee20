#pragma once

// Spec validation with Velero's messages (status.validationErrors). Each function returns
// EVERY problem found, in a stable order; an empty result means valid. Checks that need the
// cluster (storage location exists, snapshot locations, schedule's backups) belong to the
// controllers; these are the ones that need only the spec.

#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/api/schedule.h"

namespace lifeboat::api {

// Velero's collections.ValidateIncludesExcludes: "*" only alone in includes, never in
// excludes, no item in both.
std::vector<std::string> ValidateIncludesExcludes(const std::vector<std::string>& includes,
                                                  const std::vector<std::string>& excludes);
// collections.ValidateScopedIncludesExcludes: "*" alone on either side.
std::vector<std::string> ValidateScopedIncludesExcludes(const std::vector<std::string>& includes,
                                                        const std::vector<std::string>& excludes);
// ValidateIncludesExcludes plus every entry must be a namespace name or an acceptable
// wildcard pattern ("invalid namespace \"x\": ...").
std::vector<std::string> ValidateNamespaceIncludesExcludes(
    const std::vector<std::string>& includes, const std::vector<std::string>& excludes);

std::vector<std::string> ValidateBackupSpec(const BackupSpec& spec);
std::vector<std::string> ValidateRestoreSpec(const RestoreSpec& spec);
// The cron expression itself is checked by the schedule controller's parser.
std::vector<std::string> ValidateScheduleSpec(const ScheduleSpec& spec);

// Resources Velero never restores (§6.2 of the reference); naming one in a restore's
// includedResources is a validation error.
const std::vector<std::string>& NonRestorableResources();

}  // namespace lifeboat::api
