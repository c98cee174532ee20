// Locations from flags and their tables (location_commands.h).

#include "src/cli/location_commands.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "lifeboat/api/duration.h"
#include "src/cli/output.h"

namespace lifeboat::cli {

StatusOr<api::SecretKeySelector> ParseCredential(const std::string& text) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto pairs, ParseKeyValues(text, "--credential"));
  if (pairs.size() != 1) {
    return absl::InvalidArgumentError(
        "invalid argument \"" + text +
        "\" for \"--credential\" flag: give exactly one SECRET=KEY pair (the Secret in the "
        "server's namespace and the key in it that holds the credentials file)");
  }
  api::SecretKeySelector sel;
  sel.name = pairs.begin()->first;
  sel.key = pairs.begin()->second;
  if (sel.key.empty()) {
    return absl::InvalidArgumentError("invalid argument \"" + text +
                                      "\" for \"--credential\" flag: the key is empty");
  }
  return sel;
}

namespace {

StatusOr<std::optional<api::Duration>> OptionalDuration(const std::string& text,
                                                        const std::string& flag) {
  if (text.empty()) return std::optional<api::Duration>();
  auto d = api::ParseGoDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError("invalid argument \"" + text + "\" for \"" + flag +
                                      "\" flag: " + std::string(d.status().message()) +
                                      " (a Go duration such as 1m, 30s or 1h30m)");
  }
  return std::optional<api::Duration>(*d);
}

}  // namespace

StatusOr<api::BackupStorageLocation> BuildBackupStorageLocation(const BslCreateFlags& f,
                                                                const std::string& ns,
                                                                const std::string& cacert) {
  if (f.name.empty())
    return absl::InvalidArgumentError("a backup storage location name is required");
  if (f.provider.empty()) {
    return absl::InvalidArgumentError(
        "--provider is required (the object store: aws, azure, gcp, local, ...)");
  }
  if (f.bucket.empty()) {
    return absl::InvalidArgumentError(
        "--bucket is required (the bucket or container the backups are written to)");
  }
  api::BackupStorageLocation l;
  l.metadata.name = f.name;
  l.metadata.namespace_ = ns;
  LIFEBOAT_ASSIGN_OR_RETURN(l.metadata.labels, ParseKeyValues(f.labels, "--labels"));
  l.spec.provider = f.provider;
  l.spec.object_storage.bucket = f.bucket;
  l.spec.object_storage.prefix = f.prefix;
  if (!cacert.empty()) l.spec.object_storage.ca_cert = absl::Base64Escape(cacert);
  LIFEBOAT_ASSIGN_OR_RETURN(l.spec.config, ParseKeyValues(f.config, "--config"));
  if (!f.credential.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(l.spec.credential, ParseCredential(f.credential));
  }
  l.spec.default_ = f.default_;
  if (f.access_mode == "ReadWrite") {
    l.spec.access_mode = api::AccessMode::kReadWrite;
  } else if (f.access_mode == "ReadOnly") {
    l.spec.access_mode = api::AccessMode::kReadOnly;
  } else {
    return absl::InvalidArgumentError("invalid argument \"" + f.access_mode +
                                      "\" for \"--access-mode\" flag: valid values are "
                                      "ReadWrite, ReadOnly");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(l.spec.backup_sync_period,
                            OptionalDuration(f.backup_sync_period, "--backup-sync-period"));
  LIFEBOAT_ASSIGN_OR_RETURN(l.spec.validation_frequency,
                            OptionalDuration(f.validation_frequency, "--validation-frequency"));
  return l;
}

StatusOr<api::VolumeSnapshotLocation> BuildVolumeSnapshotLocation(const VslCreateFlags& f,
                                                                  const std::string& ns) {
  if (f.name.empty())
    return absl::InvalidArgumentError("a volume snapshot location name is required");
  if (f.provider.empty()) {
    return absl::InvalidArgumentError(
        "--provider is required (the volume snapshotter: aws, azure, gcp, ...)");
  }
  api::VolumeSnapshotLocation l;
  l.metadata.name = f.name;
  l.metadata.namespace_ = ns;
  LIFEBOAT_ASSIGN_OR_RETURN(l.metadata.labels, ParseKeyValues(f.labels, "--labels"));
  l.spec.provider = f.provider;
  LIFEBOAT_ASSIGN_OR_RETURN(l.spec.config, ParseKeyValues(f.config, "--config"));
  if (!f.credential.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(l.spec.credential, ParseCredential(f.credential));
  }
  return l;
}

std::string BackupLocationTable(std::vector<api::BackupStorageLocation> locations) {
  std::sort(locations.begin(), locations.end(),
            [](const auto& a, const auto& b) { return a.metadata.name < b.metadata.name; });
  std::vector<Row> rows;
  for (const auto& l : locations) {
    std::string bucket = l.spec.object_storage.bucket;
    if (!l.spec.object_storage.prefix.empty()) bucket += "/" + l.spec.object_storage.prefix;
    const std::string phase = l.status.phase == api::BackupStorageLocationPhase::kUnset
                                  ? "Unknown"
                                  : std::string(api::ToString(l.status.phase));
    const std::string validated =
        l.status.last_validation_time ? FormatTime(l.status.last_validation_time) : "Unknown";
    const std::string mode = l.spec.access_mode == api::AccessMode::kUnset
                                 ? "ReadWrite"
                                 : std::string(api::ToString(l.spec.access_mode));
    rows.push_back({l.metadata.name, l.spec.provider, bucket, phase, validated, mode,
                    l.spec.default_ ? "true" : ""});
  }
  return FormatTable(
      {"NAME", "PROVIDER", "BUCKET/PREFIX", "PHASE", "LAST VALIDATED", "ACCESS MODE", "DEFAULT"},
      rows);
}

std::string SnapshotLocationTable(std::vector<api::VolumeSnapshotLocation> locations) {
  std::sort(locations.begin(), locations.end(),
            [](const auto& a, const auto& b) { return a.metadata.name < b.metadata.name; });
  std::vector<Row> rows;
  for (const auto& l : locations) rows.push_back({l.metadata.name, l.spec.provider});
  return FormatTable({"NAME", "PROVIDER"}, rows);
}

std::string BackupLocationDeleteQuestion(size_t count) {
  return "You are about to delete " + std::to_string(count) +
         " backup storage location(s). The Backup and Restore objects that use them are "
         "deleted too (their data in the bucket is kept: a location added again for the same "
         "bucket syncs the backups back).";
}

}  // namespace lifeboat::cli
