#include "src/storage/drivers/azure/azure_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>

#include "absl/strings/escaping.h"
#include "lifeboat/common/byte_stream.h"
#include "src/storage/drivers/azure/azure_strings.h"

namespace lifeboat::storage::azure {
namespace {

constexpr int64_t kDefaultBlockSize = 1 << 20;
constexpr int64_t kMaxBlockSize = 100 << 20;

// Velero's validated keys (plus those it injects) and Lifeboat's own additions.
const std::set<std::string, std::less<>>& KnownKeys() {
  static const auto* keys = new std::set<std::string, std::less<>>{
      "resourceGroup", "storageAccount", "subscriptionId", "storageAccountKeyEnvVar",
      "storageAccountURI", "useAAD", "activeDirectoryAuthorityURI", "blockSizeInBytes", "bucket",
      "prefix", "caCert", "credentialsFile",
      // Lifeboat extensions.
      "sasTokenEnvVar", "uploadConcurrency"};
  return *keys;
}

std::string Trim(std::string_view s) { return std::string(StripWhitespace(s)); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string JoinKeys() {
  std::string out;
  for (const auto& k : KnownKeys()) StrAppend(&out, out.empty() ? "" : ", ", k);
  return out;
}

// Value of a double-quoted dotenv string (without the quotes).
std::string UnescapeDoubleQuoted(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> ParseValue(std::string_view raw) {
  std::string_view v = StripWhitespace(raw);
  if (!v.empty() && (v.front() == '"' || v.front() == '\'')) {
    char q = v.front();
    size_t end = 1;
    while (end < v.size() && !(v[end] == q && v[end - 1] != '\\')) ++end;
    if (end >= v.size()) return std::nullopt;  // unterminated
    std::string_view inner = v.substr(1, end - 1);
    return q == '"' ? UnescapeDoubleQuoted(inner) : std::string(inner);
  }
  // Unquoted: an inline comment starts at " #".
  size_t hash = v.find(" #");
  if (hash != std::string_view::npos) v = v.substr(0, hash);
  return Trim(v);
}

class Secrets {
 public:
  Secrets(std::string path, EnvMap file, EnvLookup env)
      : path_(std::move(path)), file_(std::move(file)), env_(std::move(env)) {}

  // From the credentials file when there is one, else from the environment.
  std::optional<std::string> Get(std::string_view key) const {
    if (!path_.empty()) {
      auto it = file_.find(key);
      if (it != file_.end() && !it->second.empty()) return it->second;
    }
    if (env_) {
      auto v = env_(key);
      if (v && !v->empty()) return v;
    }
    return std::nullopt;
  }
  Status Missing(std::string_view key) const {
    return absl::FailedPreconditionError(StrCat(key, " missing from ", source()));
  }
  // Where values were looked for, for messages. Without a file, say how to give one: a pod made
  // by `lifeboat install` has AZURE_CREDENTIALS_FILE pointing at the mounted Secret, a server run
  // elsewhere must set it (or the location must name a credential Secret).
  std::string source() const {
    return path_.empty() ? "the environment (no credentials file: set AZURE_CREDENTIALS_FILE, or "
                           "spec.credential on the location)"
                         : path_;
  }

 private:
  std::string path_;
  EnvMap file_;
  EnvLookup env_;
};

StatusOr<Secrets> LoadSecrets(const DriverParams& params) {
  std::string path;
  auto it = params.config.find("credentialsFile");
  if (it != params.config.end() && !it->second.empty()) {
    path = it->second;
  } else if (params.env) {
    path = params.env("AZURE_CREDENTIALS_FILE").value_or("");
  }
  if (path.empty()) return Secrets("", {}, params.env);
  auto text = ReadFile(path, 1 << 20);
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        StrCat("reading Azure credentials file ", path, ": ", text.status().message()));
  }
  LIFEBOAT_ASSIGN_OR_RETURN(EnvMap values, ParseDotEnv(*text, path));
  return Secrets(path, std::move(values), params.env);
}

std::string ConfigValue(const Config& config, std::string_view key) {
  auto it = config.find(key);
  return it == config.end() ? "" : it->second;
}

StatusOr<int64_t> ParseInt(const Config& config, std::string_view key, int64_t fallback) {
  std::string v = Trim(ConfigValue(config, key));
  if (v.empty()) return fallback;
  int64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) {
    return absl::InvalidArgumentError(StrCat("config key ", key, ": not an integer"));
  }
  return n;
}

StatusOr<std::string> CaCert(const Config& config) {
  std::string v = ConfigValue(config, "caCert");
  if (v.empty() || v.find("-----BEGIN") != std::string::npos) return v;
  std::string decoded;
  if (!absl::Base64Unescape(absl::string_view(v), &decoded) ||
      decoded.find("-----BEGIN") == std::string::npos) {
    return absl::InvalidArgumentError("config key caCert: neither PEM nor base64-encoded PEM");
  }
  return decoded;
}

// AAD: service principal with a secret, else workload identity.
Status ResolveAad(const Secrets& secrets, const DriverParams& params, AzureSettings& s) {
  auto tenant = secrets.Get("AZURE_TENANT_ID");
  if (!tenant) return secrets.Missing("AZURE_TENANT_ID");
  auto client = secrets.Get("AZURE_CLIENT_ID");
  if (!client) return secrets.Missing("AZURE_CLIENT_ID");
  s.tenant_id = *tenant;
  s.client_id = *client;
  if (auto secret = secrets.Get("AZURE_CLIENT_SECRET")) {
    s.mode = AuthMode::kServicePrincipal;
    s.client_secret = *secret;
  } else if (secrets.Get("AZURE_CLIENT_CERTIFICATE") ||
             secrets.Get("AZURE_CLIENT_CERTIFICATE_PATH")) {
    return absl::UnimplementedError(
        "Azure client-certificate credentials are not supported; use AZURE_CLIENT_SECRET or "
        "workload identity");
  } else if (auto file = params.env ? params.env("AZURE_FEDERATED_TOKEN_FILE") : std::nullopt;
             file && !file->empty()) {
    s.mode = AuthMode::kWorkloadIdentity;
    s.federated_token_file = *file;
  } else {
    return absl::FailedPreconditionError(
        StrCat("AZURE_CLIENT_SECRET missing from ", secrets.source(),
               " and AZURE_FEDERATED_TOKEN_FILE is not set (managed identity is not supported)"));
  }
  std::string authority = ConfigValue(params.config, "activeDirectoryAuthorityURI");
  if (authority.empty() && params.env) {
    authority = params.env("AZURE_AUTHORITY_HOST").value_or("");
  }
  if (authority.empty()) authority = s.cloud.authority_host;
  while (authority.ends_with("/")) authority.pop_back();
  s.token_url = StrCat(authority, "/", s.tenant_id, "/oauth2/v2.0/token");
  return absl::OkStatus();
}

Status ResolveAuth(const Secrets& secrets, const DriverParams& params, AzureSettings& s) {
  const Config& config = params.config;
  if (std::string var = ConfigValue(config, "storageAccountKeyEnvVar"); !var.empty()) {
    auto key = secrets.Get(var);
    if (!key) return secrets.Missing(var);
    s.mode = AuthMode::kSharedKey;
    s.account_key = *key;
    return absl::OkStatus();
  }
  if (std::string var = ConfigValue(config, "sasTokenEnvVar"); !var.empty()) {
    auto token = secrets.Get(var);
    if (!token) return secrets.Missing(var);
    s.mode = AuthMode::kSas;
    s.sas_token = std::string(token->starts_with("?") ? token->substr(1) : *token);
    return absl::OkStatus();
  }
  std::string use_aad = Lower(Trim(ConfigValue(config, "useAAD")));
  if (use_aad != "" && use_aad != "true" && use_aad != "false") {
    return absl::InvalidArgumentError("config key useAAD: must be \"true\" or \"false\"");
  }
  if (use_aad == "true") return ResolveAad(secrets, params, s);
  if (auto key = secrets.Get("AZURE_STORAGE_KEY")) {
    s.mode = AuthMode::kSharedKey;
    s.account_key = *key;
    return absl::OkStatus();
  }
  // Velero's default: an account key from ARM listKeys, fetched with the AAD credential.
  LIFEBOAT_RETURN_IF_ERROR(ResolveAad(secrets, params, s));
  s.key_from_arm = true;
  s.mode = AuthMode::kSharedKey;
  s.subscription_id = ConfigValue(config, "subscriptionId");
  if (s.subscription_id.empty())
    s.subscription_id = secrets.Get("AZURE_SUBSCRIPTION_ID").value_or("");
  if (s.subscription_id.empty()) {
    return absl::FailedPreconditionError(
        StrCat("AZURE_SUBSCRIPTION_ID missing from ", secrets.source(),
               " (needed to fetch the storage account key; or set config subscriptionId, "
               "storageAccountKeyEnvVar or useAAD)"));
  }
  s.resource_group = ConfigValue(config, "resourceGroup");
  if (s.resource_group.empty()) s.resource_group = secrets.Get("AZURE_RESOURCE_GROUP").value_or("");
  if (s.resource_group.empty()) {
    return absl::FailedPreconditionError(
        StrCat("AZURE_RESOURCE_GROUP missing from ", secrets.source(),
               " (needed to fetch the storage account key; or set config resourceGroup)"));
  }
  s.resource_manager = params.env ? params.env("AZURE_RESOURCE_MANAGER_ENDPOINT").value_or("") : "";
  if (s.resource_manager.empty()) s.resource_manager = s.cloud.resource_manager;
  while (s.resource_manager.ends_with("/")) s.resource_manager.pop_back();
  return absl::OkStatus();
}

}  // namespace

StatusOr<EnvMap> ParseDotEnv(std::string_view text, std::string_view path) {
  EnvMap out;
  int line_no = 0;
  for (std::string_view line : SplitLines(text)) {
    ++line_no;
    std::string_view l = StripWhitespace(line);
    if (l.empty() || l.front() == '#') continue;
    if (l.starts_with("export ")) l.remove_prefix(7);
    size_t eq = l.find_first_of("=:");
    std::string key = eq == std::string_view::npos ? "" : Trim(l.substr(0, eq));
    std::optional<std::string> value;
    if (!key.empty()) value = ParseValue(l.substr(eq + 1));
    bool key_ok = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
    if (!key_ok || !value) {
      return absl::InvalidArgumentError(
          StrCat("credentials file ", path, " line ", line_no, ": expected KEY=VALUE"));
    }
    out[key] = *value;
  }
  return out;
}

StatusOr<AzureCloud> CloudByName(std::string_view name) {
  std::string n = Lower(StripWhitespace(name));
  if (n.empty() || n == "azurepubliccloud" || n == "azurecloud") {
    return AzureCloud{"AzurePublicCloud", "blob.core.windows.net",
                      "https://login.microsoftonline.com/", "https://management.azure.com/"};
  }
  if (n == "azurechinacloud") {
    return AzureCloud{"AzureChinaCloud", "blob.core.chinacloudapi.cn",
                      "https://login.chinacloudapi.cn/", "https://management.chinacloudapi.cn/"};
  }
  if (n == "azureusgovernment" || n == "azureusgovernmentcloud") {
    return AzureCloud{"AzureUSGovernmentCloud", "blob.core.usgovcloudapi.net",
                      "https://login.microsoftonline.us/", "https://management.usgovcloudapi.net/"};
  }
  return absl::InvalidArgumentError(
      StrCat("unknown AZURE_CLOUD_NAME \"", name,
             "\" (known: AzurePublicCloud, AzureCloud, AzureChinaCloud, AzureUSGovernment, "
             "AzureUSGovernmentCloud)"));
}

std::string_view AuthModeName(AuthMode mode) {
  switch (mode) {
    case AuthMode::kSharedKey:
      return "shared key";
    case AuthMode::kSas:
      return "SAS token";
    case AuthMode::kServicePrincipal:
      return "service principal";
    case AuthMode::kWorkloadIdentity:
      return "workload identity";
  }
  return "unknown";
}

StatusOr<AzureSettings> ResolveSettings(const DriverParams& params) {
  const Config& config = params.config;
  for (const auto& [key, value] : config) {
    if (!KnownKeys().count(key)) {
      return absl::InvalidArgumentError(
          StrCat("unknown config key \"", key, "\" for provider azure (known: ", JoinKeys(), ")"));
    }
  }
  AzureSettings s;
  s.account = Trim(ConfigValue(config, "storageAccount"));
  if (s.account.empty()) {
    return absl::InvalidArgumentError("config key storageAccount is required for provider azure");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(Secrets secrets, LoadSecrets(params));
  s.credentials_source = secrets.source();
  LIFEBOAT_ASSIGN_OR_RETURN(s.cloud, CloudByName(secrets.Get("AZURE_CLOUD_NAME").value_or("")));
  LIFEBOAT_RETURN_IF_ERROR(ResolveAuth(secrets, params, s));

  s.endpoint = Trim(ConfigValue(config, "storageAccountURI"));
  if (s.endpoint.empty()) s.endpoint = StrCat("https://", s.account, ".", s.cloud.blob_suffix);
  if (!s.endpoint.starts_with("https://") && !s.endpoint.starts_with("http://")) {
    return absl::InvalidArgumentError("config key storageAccountURI: must be an http(s) URL");
  }
  while (s.endpoint.ends_with("/")) s.endpoint.pop_back();

  LIFEBOAT_ASSIGN_OR_RETURN(s.block_size, ParseInt(config, "blockSizeInBytes", kDefaultBlockSize));
  if (s.block_size <= 0) s.block_size = kDefaultBlockSize;  // as Velero does
  if (s.block_size > kMaxBlockSize) {
    return absl::InvalidArgumentError("config key blockSizeInBytes: at most 104857600 (100 MiB)");
  }
  LIFEBOAT_ASSIGN_OR_RETURN(int64_t conc, ParseInt(config, "uploadConcurrency", 4));
  if (conc < 1 || conc > 64) {
    return absl::InvalidArgumentError("config key uploadConcurrency: must be 1..64");
  }
  s.upload_concurrency = static_cast<int>(conc);
  LIFEBOAT_ASSIGN_OR_RETURN(s.ca_cert_pem, CaCert(config));
  return s;
}

}  // namespace lifeboat::storage::azure
