#include "src/storage/bucket_layout.h"

#include <string>

namespace lifeboat::storage {
namespace {

std::string BackupFileSuffix(BackupFile file) {
  switch (file) {
    case BackupFile::kMetadata:
      return "";  // fixed name, handled by the caller
    case BackupFile::kContents:
      return ".tar.gz";
    case BackupFile::kLog:
      return "-logs.gz";
    case BackupFile::kPodVolumeBackups:
      return "-podvolumebackups.json.gz";
    case BackupFile::kVolumeSnapshots:
      return "-volumesnapshots.json.gz";
    case BackupFile::kItemOperations:
      return "-itemoperations.json.gz";
    case BackupFile::kResourceList:
      return "-resource-list.json.gz";
    case BackupFile::kResults:
      return "-results.gz";
    case BackupFile::kVolumeInfo:
      return "-volumeinfo.json.gz";
    case BackupFile::kCsiVolumeSnapshots:
      return "-csi-volumesnapshots.json.gz";
    case BackupFile::kCsiVolumeSnapshotContents:
      return "-csi-volumesnapshotcontents.json.gz";
    case BackupFile::kCsiVolumeSnapshotClasses:
      return "-csi-volumesnapshotclasses.json.gz";
  }
  return "";
}

std::string RestoreObjectName(std::string_view restore, RestoreFile file) {
  std::string r(restore);
  switch (file) {
    case RestoreFile::kLog:
      return "restore-" + r + "-logs.gz";
    case RestoreFile::kResults:
      return "restore-" + r + "-results.gz";
    case RestoreFile::kResourceList:
      return "restore-" + r + "-resource-list.json.gz";
    case RestoreFile::kItemOperations:
      return "restore-" + r + "-itemoperations.json.gz";
    case RestoreFile::kVolumeInfo:
      return r + "-volumeinfo.json.gz";
  }
  return r;
}

}  // namespace

BucketLayout::BucketLayout(std::string_view prefix) {
  while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (!prefix.empty()) prefix_ = std::string(prefix) + "/";
}

const std::vector<std::string>& BucketLayout::TopLevelDirs() {
  static const std::vector<std::string> dirs = {"backups", "restores", "restic",
                                                "kopia",   "metadata", "plugins"};
  return dirs;
}

std::string BucketLayout::BackupsDir() const { return prefix_ + "backups/"; }
std::string BucketLayout::RestoresDir() const { return prefix_ + "restores/"; }

std::string BucketLayout::BackupDir(std::string_view backup) const {
  return BackupsDir() + std::string(backup) + "/";
}

std::string BucketLayout::RestoreDir(std::string_view restore) const {
  return RestoresDir() + std::string(restore) + "/";
}

std::string BucketLayout::BackupKey(std::string_view backup, BackupFile file) const {
  if (file == BackupFile::kMetadata) return BackupDir(backup) + "velero-backup.json";
  return BackupDir(backup) + std::string(backup) + BackupFileSuffix(file);
}

std::string BucketLayout::RestoreKey(std::string_view restore, RestoreFile file) const {
  return RestoreDir(restore) + RestoreObjectName(restore, file);
}

std::string BucketLayout::RevisionKey() const { return prefix_ + "metadata/revision"; }

std::string BucketLayout::RepositoryDir(std::string_view type,
                                        std::string_view volume_namespace) const {
  return prefix_ + std::string(type) + "/" + std::string(volume_namespace) + "/";
}

std::string BucketLayout::DownloadTargetKey(const DownloadTarget& target,
                                            std::string_view name) const {
  return target.is_restore ? RestoreKey(name, target.restore_file)
                           : BackupKey(name, target.backup_file);
}

StatusOr<DownloadTarget> ParseDownloadTargetKind(std::string_view kind) {
  struct Entry {
    std::string_view kind;
    DownloadTarget target;
  };
  static constexpr Entry kKinds[] = {
      {"BackupContents", {false, BackupFile::kContents}},
      {"BackupLog", {false, BackupFile::kLog}},
      {"BackupVolumeSnapshots", {false, BackupFile::kVolumeSnapshots}},
      {"BackupItemOperations", {false, BackupFile::kItemOperations}},
      {"BackupResourceList", {false, BackupFile::kResourceList}},
      {"BackupResults", {false, BackupFile::kResults}},
      {"BackupVolumeInfos", {false, BackupFile::kVolumeInfo}},
      {"CSIBackupVolumeSnapshots", {false, BackupFile::kCsiVolumeSnapshots}},
      {"CSIBackupVolumeSnapshotContents", {false, BackupFile::kCsiVolumeSnapshotContents}},
      {"RestoreLog", {true, BackupFile::kContents, RestoreFile::kLog}},
      {"RestoreResults", {true, BackupFile::kContents, RestoreFile::kResults}},
      {"RestoreResourceList", {true, BackupFile::kContents, RestoreFile::kResourceList}},
      {"RestoreItemOperations", {true, BackupFile::kContents, RestoreFile::kItemOperations}},
      {"RestoreVolumeInfo", {true, BackupFile::kContents, RestoreFile::kVolumeInfo}},
  };
  for (const Entry& e : kKinds) {
    if (e.kind == kind) return e.target;
  }
  return absl::InvalidArgumentError("unknown download target kind \"" + std::string(kind) + "\"");
}

std::string_view BackupFileName(BackupFile file) {
  switch (file) {
    case BackupFile::kMetadata:
      return "metadata";
    case BackupFile::kContents:
      return "contents";
    case BackupFile::kLog:
      return "log";
    case BackupFile::kPodVolumeBackups:
      return "pod-volume-backups";
    case BackupFile::kVolumeSnapshots:
      return "volume-snapshots";
    case BackupFile::kItemOperations:
      return "item-operations";
    case BackupFile::kResourceList:
      return "resource-list";
    case BackupFile::kResults:
      return "results";
    case BackupFile::kVolumeInfo:
      return "volume-info";
    case BackupFile::kCsiVolumeSnapshots:
      return "csi-volume-snapshots";
    case BackupFile::kCsiVolumeSnapshotContents:
      return "csi-volume-snapshot-contents";
    case BackupFile::kCsiVolumeSnapshotClasses:
      return "csi-volume-snapshot-classes";
  }
  return "unknown";
}

std::string_view RestoreFileName(RestoreFile file) {
  switch (file) {
    case RestoreFile::kLog:
      return "log";
    case RestoreFile::kResults:
      return "results";
    case RestoreFile::kResourceList:
      return "resource-list";
    case RestoreFile::kItemOperations:
      return "item-operations";
    case RestoreFile::kVolumeInfo:
      return "volume-info";
  }
  return "unknown";
}

}  // namespace lifeboat::storage
