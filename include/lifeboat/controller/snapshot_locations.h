#pragma once

// VolumeSnapshotLocations as the backup and restore controllers use them: read with their
// credential, and chosen for a backup by Velero's rules.
//
// A location's spec.credential (a key of a Secret in the server's namespace) is written to a
// private file (directory 0700, file 0600) under <temp-dir>/lifeboat-vsl-credentials/<name>/ and
// passed to the provider as the "credentialsFile" config entry, as Velero passes it to its
// plugins; the value itself is never logged or put in an error.
//
// Velero's choice of locations for a backup (backup controller): when spec.snapshotVolumes is
// false, none. Otherwise every name in spec.volumeSnapshotLocations must exist, with at most one
// location per provider; then each provider that has locations but none named gets its
// default from --default-volume-snapshot-locations (provider:name), or its only location; a
// provider with several locations and no default is a validation error. The result is written
// back to spec.volumeSnapshotLocations, so a resumed or described backup shows what was used.
//
// Thread safety: free functions; safe to call from several reconcilers at once (the credential
// file of a location is rewritten atomically).

#include <map>
#include <string>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/api/volume_snapshot_location.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/controller/context.h"

namespace lifeboat::controller {

struct ResolvedSnapshotLocation {
  std::string name;
  std::string provider;
  std::map<std::string, std::string> config;  // spec.config plus "credentialsFile" when set
};

// The location's provider and config with its credential file written. FailedPrecondition when
// the credential Secret or key is missing (unless the selector is optional).
StatusOr<ResolvedSnapshotLocation> ResolveSnapshotLocation(const ServerContext& ctx,
                                                           const api::VolumeSnapshotLocation& vsl,
                                                           const CancellationToken& cancel);

// Every location in the server's namespace, by name (restores and deletions use the one a
// snapshot record names). A location whose credential cannot be read is left out with a log
// line; errors listing them are returned.
StatusOr<std::vector<ResolvedSnapshotLocation>> AllSnapshotLocations(
    const ServerContext& ctx, const CancellationToken& cancel);

struct BackupSnapshotLocations {
  std::vector<std::string> names;   // the chosen locations (spec.volumeSnapshotLocations)
  std::vector<std::string> errors;  // validation problems (FailedValidation)
};

// Velero's rules above. Listing failures are returned as a Status (the backup is retried).
StatusOr<BackupSnapshotLocations> ChooseBackupSnapshotLocations(const ServerContext& ctx,
                                                                const api::BackupSpec& spec,
                                                                const CancellationToken& cancel);

}  // namespace lifeboat::controller
