#pragma once

// BackupStorageLocation -> BackupStore: the driver named by spec.provider, configured from
// spec.config, the location's credential Secret (written to a private file and passed to the
// driver as the "credentialsFile" config entry, as Velero does), wrapped in the standard
// decorator stack (read-only when accessMode is ReadOnly, retries). Stores are cached per
// location and rebuilt when the location's spec or its Secret changes.
//
// Errors: NotFound when the location does not exist (naming it); the registry's
// InvalidArgument/FailedPrecondition for a bad provider, config or missing credential (never
// the credential's value).
//
// Thread safety: every method may be called from any thread.

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "lifeboat/api/backup_storage_location.h"
#include "lifeboat/common/cancellation.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/storage/backup_store.h"
#include "lifeboat/storage/decorators.h"
#include "lifeboat/storage/registry.h"

namespace lifeboat::controller {

struct LocationStoresOptions {
  std::string ns = "velero";  // where the locations and their Secrets live
  // Where credential files are written (created 0700; files 0600). Empty: a fresh directory
  // under the system temp directory.
  std::filesystem::path credentials_dir;
  storage::EnvLookup env = storage::ProcessEnv();
  storage::RetryOptions retry;  // for every store
  Clock* clock = nullptr;
};

// A location as read, with its store.
struct Location {
  api::BackupStorageLocation bsl;
  std::shared_ptr<storage::BackupStore> store;
  bool read_only() const { return bsl.spec.access_mode == api::AccessMode::kReadOnly; }
};

class LocationStores {
 public:
  LocationStores(kube::DynamicClient* client, LocationStoresOptions options = {});
  ~LocationStores();

  // The store of a location object as given (its Secret is read from the API).
  StatusOr<std::shared_ptr<storage::BackupStore>> ForLocation(const api::BackupStorageLocation& bsl,
                                                              const CancellationToken& cancel = {});
  // Reads the location `name` and returns it with its store.
  StatusOr<Location> Get(std::string_view name, const CancellationToken& cancel = {});
  // The name of the location marked spec.default (the lexically first when several are);
  // NotFound when none is.
  StatusOr<std::string> DefaultLocationName(const CancellationToken& cancel = {});
  // Drops a cached store (the location was deleted).
  void Forget(std::string_view name);

 private:
  struct Entry {
    std::string fingerprint;  // spec + secret resourceVersion
    std::shared_ptr<storage::BackupStore> store;
  };
  kube::DynamicClient* client_;
  LocationStoresOptions options_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> cache_;
};

}  // namespace lifeboat::controller
