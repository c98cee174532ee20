#pragma once

// The CustomResourceDefinitions of the velero.io/v1 kinds Lifeboat serves (Backup,
// BackupStorageLocation, DeleteBackupRequest, DownloadRequest, Restore, Schedule,
// ServerStatusRequest, VolumeSnapshotLocation), as `lifeboat install` applies them and
// `lifeboat install --dry-run -o yaml` prints them.
//
// They are generated from one declarative description of the schemas in the code
// (src/api/crds_kinds.cc), not from checked-in YAML. Field names, types, formats, enums,
// nullability, required fields, printer columns, names and short names match Velero's published
// CRDs, so Velero's CLI and clients work against them; differences are listed in docs/api.md.
// Like Velero's, no CRD enables the status subresource (status is written with the object and
// can be set at create time, which backup sync relies on).
//
// Thread-safe (pure functions); each call builds fresh values.

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace lifeboat::api {

// One apiextensions.k8s.io/v1 CustomResourceDefinition object per kind, ordered by name
// (backups.velero.io, backupstoragelocations.velero.io, ...). Each has group velero.io, scope
// Namespaced, one version v1 (served, storage) with a structural openAPIV3Schema, and the label
// `component: velero`. Never fails.
std::vector<boost::json::value> VeleroCustomResourceDefinitions();

// The same objects as one multi-document YAML stream (each document starts with `---`), ready
// for `kubectl apply -f -`. Never fails.
std::string CrdsYaml();

}  // namespace lifeboat::api
