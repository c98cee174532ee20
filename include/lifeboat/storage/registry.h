#pragma once

// Creating an ObjectStore from a BackupStorageLocation: the provider name selects the driver
// (Velero's names, with or without the "velero.io/" prefix), the location's config map and the
// process environment configure it. The list of built-in drivers is written out in one place
// (src/storage/registry.cc), not assembled by static initialisers.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"
#include "lifeboat/storage/object_store.h"

namespace lifeboat {
class Clock;
}

namespace lifeboat::storage {

// Looks up an environment variable; tests inject their own instead of the process's.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup ProcessEnv();

struct DriverParams {
  // The location's spec.config. Velero passes a location's `credential` secret key as the
  // config entry "credentialsFile" (a path); drivers read it before their provider's usual
  // environment variable (AWS_SHARED_CREDENTIALS_FILE, AZURE_CREDENTIALS_FILE,
  // GOOGLE_APPLICATION_CREDENTIALS).
  Config config;
  EnvLookup env = ProcessEnv();
  Clock* clock = nullptr;  // null: the real clock
};

// "aws" / "velero.io/aws", "azure" / "velero.io/azure", "gcp" / "velero.io/gcp", "local".
// InvalidArgument for an unknown provider (naming the known ones) or a bad config (naming the
// key); FailedPrecondition when a credentials file or key is missing (naming the file and the
// key, never the value).
StatusOr<std::unique_ptr<ObjectStore>> NewObjectStore(std::string_view provider,
                                                      const DriverParams& params);

// The provider names NewObjectStore accepts (without the "velero.io/" prefix).
std::vector<std::string> KnownProviders();

}  // namespace lifeboat::storage
