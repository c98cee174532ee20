#pragma once

// The built-in VolumeSnapshotter providers, by VolumeSnapshotLocation `provider` name:
//   "azure" / "velero.io/azure" — Azure managed-disk snapshots through the Azure Resource
//   Manager REST API (docs/volumes-azure.md), configured like velero-plugin-for-microsoft-azure.
// CSI snapshots do not go through this interface (they are Kubernetes objects).
//
// The factory returned by BuiltinVolumeSnapshotters creates a provider's snapshotter from a
// location's config (Velero's Init):
//   NotFound         unknown provider (the message lists the known ones);
//   InvalidArgument  bad config (unknown key, unparsable apiTimeout / incremental / tags,
//                    subscriptionId without resourceGroup), naming the key, never a secret;
//   FailedPrecondition  the credentials (file or environment) lack a required value
//                    (AZURE_SUBSCRIPTION_ID, AZURE_RESOURCE_GROUP, AZURE_TENANT_ID, ...), naming
//                    the value and where it was looked for; or the credentials file is
//                    unreadable.
//   Unimplemented    client-certificate credentials.
// No network call is made at creation; the first operation fetches the AAD token.
//
// The Azure snapshotter also implements plugin::SnapshotLister.
//
// Thread safety: the factory and the snapshotters it creates may be used from any thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/common/status.h"
#include "lifeboat/http/client.h"
#include "lifeboat/plugin/volume_snapshotter.h"
#include "lifeboat/storage/registry.h"

namespace lifeboat {
class Clock;
}

namespace lifeboat::volume {

struct SnapshotterOptions {
  // Environment lookups (AZURE_CREDENTIALS_FILE, AZURE_FEDERATED_TOKEN_FILE,
  // AZURE_RESOURCE_MANAGER_ENDPOINT, AZURE_AUTHORITY_HOST, and the credential variables when no
  // credentials file is given). Tests inject their own.
  storage::EnvLookup env = storage::ProcessEnv();
  // Waits between polls and retries go through it; null means the real clock. Borrowed.
  Clock* clock = nullptr;
  // Creates the HTTP client each snapshotter uses; null means http::Client::Create.
  std::function<StatusOr<std::unique_ptr<http::Client>>(http::ClientOptions)> http_client_factory;
  // Azure Resource Manager endpoint ("http://127.0.0.1:1234" in tests). Empty: the environment's
  // AZURE_RESOURCE_MANAGER_ENDPOINT, else the cloud's (AZURE_CLOUD_NAME).
  std::string azure_resource_manager_endpoint;
  // Interval between long-running-operation polls when the server sends no Retry-After
  // (Velero's plugin polls every 5 s).
  std::chrono::milliseconds azure_poll_interval{5000};
};

plugin::VolumeSnapshotterFactory BuiltinVolumeSnapshotters(SnapshotterOptions options = {});

// Provider names the factory accepts, without the "velero.io/" prefix: {"azure"}.
std::vector<std::string> KnownVolumeSnapshotterProviders();

}  // namespace lifeboat::volume
