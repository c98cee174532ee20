#pragma once

// The Azure managed-disk VolumeSnapshotter (provider "azure" / "velero.io/azure"), with
// velero-plugin-for-microsoft-azure's configuration and behaviour (docs/volumes-azure.md).
// Private to the volume module; created through lifeboat/volume/snapshotters.h.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lifeboat/common/status.h"
#include "lifeboat/plugin/volume_snapshotter.h"
#include "lifeboat/volume/snapshotters.h"

namespace lifeboat::volume::azure {

// What Init resolves from the location's config and the credentials.
struct SnapshotterSettings {
  std::string disks_subscription;        // AZURE_SUBSCRIPTION_ID
  std::string disks_resource_group;      // AZURE_RESOURCE_GROUP
  std::string snapshots_subscription;    // config subscriptionId, else the disks'
  std::string snapshots_resource_group;  // config resourceGroup, else the disks'
  std::chrono::nanoseconds api_timeout = std::chrono::minutes(2);
  std::optional<bool> incremental;          // unset: the field is not sent (full snapshot)
  std::map<std::string, std::string> tags;  // config "tags"
  std::string resource_manager;             // ARM endpoint, no trailing slash
  std::string token_url;                    // <authority>/<tenant>/oauth2/v2.0/token
  std::string client_id;
  std::string client_secret;         // service principal, or
  std::string federated_token_file;  // workload identity
};

// Resolves the settings (see snapshotters.h for the error codes).
StatusOr<SnapshotterSettings> ResolveSnapshotterSettings(
    const std::map<std::string, std::string>& config, const SnapshotterOptions& options);

// Parses the config "tags" value "k1=v1,k2=v2" (spaces around keys and values trimmed).
StatusOr<std::map<std::string, std::string>> ParseTags(std::string_view text);

StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> NewAzureSnapshotter(
    const std::map<std::string, std::string>& config, const SnapshotterOptions& options);

}  // namespace lifeboat::volume::azure
