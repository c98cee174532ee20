#include "lifeboat/controller/locations.h"

#include <sys/stat.h>

#include <optional>
#include <utility>

#include <absl/strings/escaping.h>
#include <boost/json.hpp>

#include "lifeboat/controller/kinds.h"
#include "src/controller/private_files.h"

namespace lifeboat::controller {

namespace json = boost::json;
namespace fs = std::filesystem;

LocationStores::LocationStores(kube::DynamicClient* client, LocationStoresOptions options)
    : client_(client), options_(std::move(options)) {
  if (options_.credentials_dir.empty()) {
    std::string templ = (fs::temp_directory_path() / "lifeboat-credentials-XXXXXX").string();
    if (::mkdtemp(templ.data()) != nullptr) options_.credentials_dir = templ;
  } else {
    std::error_code ec;
    fs::create_directories(options_.credentials_dir, ec);
  }
  ::chmod(options_.credentials_dir.c_str(), 0700);
}

LocationStores::~LocationStores() = default;

StatusOr<std::shared_ptr<storage::BackupStore>> LocationStores::ForLocation(
    const api::BackupStorageLocation& bsl, const CancellationToken& cancel) {
  const std::string& name = bsl.metadata.name;
  storage::DriverParams params;
  for (const auto& [k, v] : bsl.spec.config) params.config[k] = v;
  params.env = options_.env;
  params.clock = options_.clock;
  std::string fingerprint = json::serialize(json::value_from(bsl.spec.config)) + "|" +
                            bsl.spec.provider + "|" + bsl.spec.object_storage.bucket + "|" +
                            bsl.spec.object_storage.prefix + "|" +
                            std::string(api::ToString(bsl.spec.access_mode));
  // Reads key `key` of Secret `secret_name` (base64-decoded). std::nullopt when the Secret
  // does not exist; FailedPrecondition when the key is missing or not base64.
  auto read_secret = [&](const std::string& what, const std::string& secret_name,
                         const std::string& key) -> StatusOr<std::optional<std::string>> {
    LIFEBOAT_ASSIGN_OR_RETURN(auto secret,
                              GetIfExists(*client_, kSecrets, options_.ns, secret_name, cancel));
    if (!secret) return std::optional<std::string>();
    const json::value* value = nullptr;
    if (const auto* data = secret->as_object().if_contains("data"); data && data->is_object()) {
      value = data->as_object().if_contains(key);
    }
    std::string decoded;
    if (value == nullptr || !value->is_string() ||
        !absl::Base64Unescape(std::string(value->as_string()), &decoded)) {
      return absl::FailedPreconditionError("backup storage location " + name + ": " + what +
                                           " secret " + options_.ns + "/" + secret_name +
                                           " has no valid key " + key);
    }
    std::string rv;
    const auto& meta = secret->at("metadata").as_object();
    if (const auto* r = meta.if_contains("resourceVersion"); r && r->is_string()) rv = r->as_string();
    fingerprint += "|" + what + ":" + secret_name + "/" + key + "@" + rv;
    return std::optional<std::string>(std::move(decoded));
  };
  std::string credential_data;
  fs::path credential_path;
  if (bsl.spec.credential && !bsl.spec.credential->name.empty()) {
    const auto& sel = *bsl.spec.credential;
    LIFEBOAT_ASSIGN_OR_RETURN(auto data, read_secret("credential", sel.name, sel.key));
    if (data) {
      credential_data = std::move(*data);
      // One directory per location: location names cannot contain '/', so two locations'
      // files never collide.
      credential_path = options_.credentials_dir / SafeSegment(name) / SafeSegment(sel.key);
      params.config["credentialsFile"] = credential_path.string();
    } else if (!sel.optional.value_or(false)) {
      return absl::FailedPreconditionError("backup storage location " + name +
                                           ": credential secret " + options_.ns + "/" + sel.name +
                                           " not found");
    }
  }
  // A custom CA for the object storage endpoint: objectStorage.caCert (base64 PEM, deprecated)
  // or objectStorage.caCertRef (a Secret key holding the PEM). Drivers take either form.
  if (const auto& ref = bsl.spec.object_storage.ca_cert_ref; ref && !ref->name.empty()) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto pem, read_secret("caCertRef", ref->name, ref->key));
    if (pem) {
      params.config["caCert"] = *pem;
    } else if (!ref->optional.value_or(false)) {
      return absl::FailedPreconditionError("backup storage location " + name + ": caCertRef secret " +
                                           options_.ns + "/" + ref->name + " not found");
    }
  } else if (!bsl.spec.object_storage.ca_cert.empty()) {
    params.config["caCert"] = bsl.spec.object_storage.ca_cert;
    fingerprint += "|caCert:" + bsl.spec.object_storage.ca_cert;
  }
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(name);
    if (it != cache_.end() && it->second.fingerprint == fingerprint) return it->second.store;
  }
  if (!credential_path.empty()) {
    std::error_code ec;
    fs::create_directories(credential_path.parent_path(), ec);
    ::chmod(credential_path.parent_path().c_str(), 0700);
    LIFEBOAT_RETURN_IF_ERROR(WritePrivateFile(credential_path, credential_data));
  }
  auto driver = storage::NewObjectStore(bsl.spec.provider, params);
  if (!driver.ok()) {
    return Status(driver.status().code(), "backup storage location " + name + ": " +
                                              std::string(driver.status().message()));
  }
  std::unique_ptr<storage::ObjectStore> stack =
      std::make_unique<storage::RetryingObjectStore>(std::move(*driver), options_.retry);
  if (bsl.spec.access_mode == api::AccessMode::kReadOnly) {
    stack = std::make_unique<storage::ReadOnlyObjectStore>(std::move(stack), name);
  }
  auto store = std::make_shared<storage::BackupStore>(
      std::shared_ptr<storage::ObjectStore>(std::move(stack)), bsl.spec.object_storage.bucket,
      bsl.spec.object_storage.prefix);
  std::lock_guard lock(mu_);
  cache_[name] = Entry{fingerprint, store};
  return store;
}

StatusOr<Location> LocationStores::Get(std::string_view name, const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto obj,
                            GetIfExists(*client_, kBackupStorageLocations, options_.ns, name, cancel));
  if (!obj) {
    return absl::NotFoundError("backup storage location " + std::string(name) + " not found in namespace " +
                               options_.ns);
  }
  LIFEBOAT_ASSIGN_OR_RETURN(auto bsl, api::BackupStorageLocationFromJson(*obj));
  LIFEBOAT_ASSIGN_OR_RETURN(auto store, ForLocation(bsl, cancel));
  return Location{std::move(bsl), std::move(store)};
}

StatusOr<std::string> LocationStores::DefaultLocationName(const CancellationToken& cancel) {
  kube::ListOptions options;
  options.cancel = cancel;
  LIFEBOAT_ASSIGN_OR_RETURN(auto page, client_->List(kBackupStorageLocations, options_.ns, options));
  std::string best;
  for (const auto& item : page.items) {
    auto bsl = api::BackupStorageLocationFromJson(item);
    if (!bsl.ok() || !bsl->spec.default_) continue;
    if (best.empty() || bsl->metadata.name < best) best = bsl->metadata.name;
  }
  if (best.empty()) return absl::NotFoundError("no default backup storage location in namespace " + options_.ns);
  return best;
}

void LocationStores::Forget(std::string_view name) {
  std::lock_guard lock(mu_);
  if (auto it = cache_.find(name); it != cache_.end()) cache_.erase(it);
}

}  // namespace lifeboat::controller
