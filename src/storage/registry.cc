// The list of built-in ObjectStore drivers, written out in one place (no static registration).

#include "lifeboat/storage/registry.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "src/storage/drivers/local/local_object_store.h"
#include "src/storage/drivers/s3/s3_object_store.h"
#include "src/storage/drivers/azure/azure_object_store.h"
// drivers: add one #include per driver above this line

namespace lifeboat::storage {
namespace {

using Factory = StatusOr<std::unique_ptr<ObjectStore>> (*)(const DriverParams&);

struct Driver {
  std::string_view provider;  // without "velero.io/"
  Factory factory;
};

const std::vector<Driver>& Drivers() {
  static const std::vector<Driver> drivers = {
      // drivers: add one line per driver below ({"name", &NewFooObjectStore},)
      {"local", &local::NewLocalObjectStore},
      {"aws", &s3::NewS3ObjectStore},
      {"gcp", &s3::NewGcsObjectStore},
      {"azure", &azure::NewAzureBlobObjectStore},
  };
  return drivers;
}

std::string_view StripVeleroPrefix(std::string_view provider) {
  constexpr std::string_view kPrefix = "velero.io/";
  if (provider.starts_with(kPrefix)) provider.remove_prefix(kPrefix.size());
  return provider;
}

}  // namespace

StatusOr<std::unique_ptr<ObjectStore>> NewObjectStore(std::string_view provider,
                                                      const DriverParams& params) {
  std::string_view name = StripVeleroPrefix(provider);
  for (const Driver& d : Drivers()) {
    if (d.provider == name) {
      auto store = d.factory(params);
      if (!store.ok()) return Annotate(store.status(), "provider " + std::string(name));
      return store;
    }
  }
  return absl::InvalidArgumentError("unknown object storage provider \"" + std::string(provider) +
                                    "\" (known: " + absl::StrJoin(KnownProviders(), ", ") + ")");
}

std::vector<std::string> KnownProviders() {
  std::vector<std::string> names;
  for (const Driver& d : Drivers()) names.emplace_back(d.provider);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace lifeboat::storage
