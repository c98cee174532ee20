#pragma once

// Configuration of the Azure Blob driver as Velero's Azure plugin takes it: the location's
// config map (storageAccount, storageAccountKeyEnvVar, useAAD, ...), the credentials file
// (dotenv KEY=VALUE lines: AZURE_TENANT_ID, AZURE_CLIENT_SECRET, ...) and the environment
// (AZURE_CREDENTIALS_FILE, AZURE_FEDERATED_TOKEN_FILE, ...). Private to the driver.
//
// Error messages name files and keys, never values.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "lifeboat/common/status.h"
#include "lifeboat/storage/registry.h"

namespace lifeboat::storage::azure {

using EnvMap = std::map<std::string, std::string, std::less<>>;

// Parses dotenv text as godotenv does for Velero: `KEY=VALUE` or `KEY: VALUE` lines, an
// optional `export ` prefix, `#` comments, single quotes (literal), double quotes (with \n, \"
// and \\ escapes). InvalidArgument naming `path` and the line number (not its content) for a
// line that is not an assignment.
StatusOr<EnvMap> ParseDotEnv(std::string_view text, std::string_view path);

// A national cloud, selected by AZURE_CLOUD_NAME (case-insensitive).
struct AzureCloud {
  std::string name;         // canonical: AzurePublicCloud, AzureChinaCloud, AzureUSGovernmentCloud
  std::string blob_suffix;  // "blob.core.windows.net"
  std::string authority_host;    // "https://login.microsoftonline.com/"
  std::string resource_manager;  // "https://management.azure.com/"
};

// "", "AzurePublicCloud", "AzureCloud" → public; "AzureChinaCloud"; "AzureUSGovernment",
// "AzureUSGovernmentCloud". InvalidArgument for any other name.
StatusOr<AzureCloud> CloudByName(std::string_view name);

enum class AuthMode {
  kSharedKey,         // account key, HMAC-SHA256 Authorization header
  kSas,               // a SAS token appended to every URL
  kServicePrincipal,  // AAD client-credentials grant with a client secret
  kWorkloadIdentity,  // AAD client-credentials grant with a federated token (AKS)
};
std::string_view AuthModeName(AuthMode mode);

struct AzureSettings {
  std::string account;
  // Blob service endpoint without a trailing slash: storageAccountURI or
  // https://<account>.<blob suffix>.
  std::string endpoint;
  AuthMode mode = AuthMode::kSharedKey;
  std::string account_key;  // base64, as the portal shows it (kSharedKey)
  // kSharedKey with no account_key: Velero's default, the key is fetched once through ARM
  // listKeys with the AAD credential below (client_secret or federated_token_file).
  bool key_from_arm = false;
  std::string subscription_id;
  std::string resource_group;
  std::string resource_manager;  // ARM endpoint, "https://management.azure.com"
  std::string sas_token;         // without the leading '?' (kSas)
  // AAD (kServicePrincipal / kWorkloadIdentity).
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;
  std::string federated_token_file;
  std::string token_url;  // <authority>/<tenant>/oauth2/v2.0/token
  AzureCloud cloud;

  int64_t block_size = 1 << 20;
  int upload_concurrency = 4;
  std::string ca_cert_pem;  // replaces the system trust store when set
  // Where secrets came from, for error messages ("AZURE_CLIENT_SECRET missing from <this>").
  std::string credentials_source;
};

// Resolves settings from a location's config and the environment (see docs/storage.md,
// "Azure"). InvalidArgument for an unknown config key or a bad value (naming the key);
// FailedPrecondition when a credentials file cannot be read or lacks a needed key (naming the
// file and the key); NotFound never.
StatusOr<AzureSettings> ResolveSettings(const DriverParams& params);

}  // namespace lifeboat::storage::azure
