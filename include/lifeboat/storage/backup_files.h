#pragma once

// The kinds of files Velero keeps per backup and per restore in a BackupStorageLocation, and
// the DownloadRequest target kinds that name them. The keys themselves are built in one place,
// src/storage/bucket_layout.cc (docs/formats/bucket-layout.md specifies them).

#include <string_view>

#include "lifeboat/common/status.h"

namespace lifeboat::storage {

// In Velero's upload order for the files after the tarball (PutBackup).
enum class BackupFile {
  kMetadata,                   // velero-backup.json (JSON, not gzipped)
  kContents,                   // <b>.tar.gz
  kLog,                        // <b>-logs.gz
  kPodVolumeBackups,           // <b>-podvolumebackups.json.gz
  kVolumeSnapshots,            // <b>-volumesnapshots.json.gz
  kItemOperations,             // <b>-itemoperations.json.gz
  kResourceList,               // <b>-resource-list.json.gz
  kResults,                    // <b>-results.gz
  kVolumeInfo,                 // <b>-volumeinfo.json.gz
  kCsiVolumeSnapshots,         // <b>-csi-volumesnapshots.json.gz (legacy, read only)
  kCsiVolumeSnapshotContents,  // <b>-csi-volumesnapshotcontents.json.gz (legacy, read only)
  kCsiVolumeSnapshotClasses,   // <b>-csi-volumesnapshotclasses.json.gz (legacy, read only)
};
inline constexpr BackupFile kAllBackupFiles[] = {
    BackupFile::kMetadata,           BackupFile::kContents,
    BackupFile::kLog,                BackupFile::kPodVolumeBackups,
    BackupFile::kVolumeSnapshots,    BackupFile::kItemOperations,
    BackupFile::kResourceList,       BackupFile::kResults,
    BackupFile::kVolumeInfo,         BackupFile::kCsiVolumeSnapshots,
    BackupFile::kCsiVolumeSnapshotContents, BackupFile::kCsiVolumeSnapshotClasses,
};

enum class RestoreFile {
  kLog,             // restore-<r>-logs.gz
  kResults,         // restore-<r>-results.gz
  kResourceList,    // restore-<r>-resource-list.json.gz
  kItemOperations,  // restore-<r>-itemoperations.json.gz
  kVolumeInfo,      // <r>-volumeinfo.json.gz (no "restore-" prefix, as in Velero)
};
inline constexpr RestoreFile kAllRestoreFiles[] = {
    RestoreFile::kLog, RestoreFile::kResults, RestoreFile::kResourceList,
    RestoreFile::kItemOperations, RestoreFile::kVolumeInfo};

// A DownloadRequest's spec.target.kind names one of the files above.
struct DownloadTarget {
  bool is_restore = false;
  BackupFile backup_file = BackupFile::kContents;  // when !is_restore
  RestoreFile restore_file = RestoreFile::kLog;    // when is_restore
};

// "BackupContents", "BackupLog", ..., "RestoreVolumeInfo" (Velero's DownloadTargetKind values).
// InvalidArgument naming the kind for an unknown one.
StatusOr<DownloadTarget> ParseDownloadTargetKind(std::string_view kind);

// A short name for messages and golden files: "metadata", "contents", "log", ...
std::string_view BackupFileName(BackupFile file);
std::string_view RestoreFileName(RestoreFile file);

}  // namespace lifeboat::storage
