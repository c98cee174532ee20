#include "src/volume/azure/azure_snapshotter.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <set>

#include "lifeboat/api/duration.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/clock.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "src/storage/drivers/azure/azure_auth.h"
#include "src/storage/drivers/azure/azure_config.h"
#include "src/storage/drivers/azure/azure_strings.h"
#include "src/volume/azure/arm_client.h"

namespace lifeboat::volume::azure {
namespace {

using storage::azure::StrAppend;
using storage::azure::StrCat;
using storage::azure::StripWhitespace;
using storage::azure::UrlEncode;

constexpr std::string_view kDiskCsiDriver = "disk.csi.azure.com";
constexpr size_t kMaxSnapshotName = 80;

const std::set<std::string>& KnownKeys() {
  static const auto* keys = new std::set<std::string>{"resourceGroup",
                                                      "subscriptionId",
                                                      "apiTimeout",
                                                      "incremental",
                                                      "tags",
                                                      "credentialsFile",
                                                      "activeDirectoryAuthorityURI"};
  return *keys;
}

std::string JoinKeys() {
  std::string out;
  for (const auto& k : KnownKeys()) StrAppend(&out, out.empty() ? "" : ", ", k);
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ConfigValue(const std::map<std::string, std::string>& config, const std::string& key) {
  auto it = config.find(key);
  return it == config.end() ? "" : std::string(StripWhitespace(it->second));
}

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view v) {
  static const std::set<std::string_view> yes = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string_view> no = {"0", "f", "F", "FALSE", "false", "False"};
  if (yes.count(v)) return true;
  if (no.count(v)) return false;
  return std::nullopt;
}

// Credentials: the file (config credentialsFile, else AZURE_CREDENTIALS_FILE) first, then the
// environment, as Velero loads the file into its environment.
class Credentials {
 public:
  static StatusOr<Credentials> Load(const std::map<std::string, std::string>& config,
                                    const storage::EnvLookup& env) {
    Credentials c;
    c.env_ = env;
    std::string path = ConfigValue(config, "credentialsFile");
    if (path.empty() && env) path = env("AZURE_CREDENTIALS_FILE").value_or("");
    if (path.empty()) return c;
    auto text = ReadFile(path, 1 << 20);
    if (!text.ok()) {
      return absl::FailedPreconditionError(
          StrCat("reading Azure credentials file ", path, ": ", text.status().message()));
    }
    LIFEBOAT_ASSIGN_OR_RETURN(c.file_, storage::azure::ParseDotEnv(*text, path));
    c.path_ = path;
    return c;
  }
  std::string Get(std::string_view key) const {
    auto it = file_.find(key);
    if (it != file_.end() && !it->second.empty()) return it->second;
    if (env_) return env_(key).value_or("");
    return "";
  }
  std::string source() const {
    return path_.empty() ? "the environment" : StrCat(path_, " and the environment");
  }
  Status Missing(std::string_view key, std::string_view why = "") const {
    return absl::FailedPreconditionError(StrCat(key, " missing from ", source(), why));
  }

 private:
  std::string path_;
  storage::azure::EnvMap file_;
  storage::EnvLookup env_;
};

std::string NewUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Fall back to the standard library's source; uniqueness is all that matters here.
    std::random_device rd;
    for (auto& x : b) x = static_cast<unsigned char>(rd());
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
  return out;
}

std::string ComputeId(std::string_view sub, std::string_view rg, std::string_view kind,
                      std::string_view name) {
  return StrCat("/subscriptions/", sub, "/resourceGroups/", rg, "/providers/Microsoft.Compute/",
                kind, "/", name);
}

// The request path of a Compute resource (segments percent-encoded).
std::string ComputePath(std::string_view sub, std::string_view rg, std::string_view kind,
                        std::string_view name) {
  std::string p = StrCat("/subscriptions/", UrlEncode(sub), "/resourceGroups/", UrlEncode(rg),
                         "/providers/Microsoft.Compute/", kind);
  if (!name.empty()) StrAppend(&p, "/", UrlEncode(name));
  return p;
}

struct SnapshotRef {
  std::string subscription, resource_group, name;
};

// "/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/snapshots/<name>".
StatusOr<SnapshotRef> ParseSnapshotId(std::string_view id) {
  const std::string lower = Lower(id);
  const std::string_view kSub = "/subscriptions/", kRg = "/resourcegroups/",
                         kProv = "/providers/microsoft.compute/snapshots/";
  size_t rg = lower.find(kRg);
  size_t prov = lower.rfind(kProv);
  if (!lower.starts_with(kSub) || rg == std::string::npos || prov == std::string::npos ||
      rg < kSub.size() || prov < rg + kRg.size()) {
    return absl::InvalidArgumentError(
        StrCat("snapshot ID \"", id, "\" is not a Microsoft.Compute/snapshots resource ID"));
  }
  SnapshotRef r;
  r.subscription = std::string(id.substr(kSub.size(), rg - kSub.size()));
  r.resource_group = std::string(id.substr(rg + kRg.size(), prov - rg - kRg.size()));
  r.name = std::string(id.substr(prov + kProv.size()));
  if (r.subscription.empty() || r.resource_group.empty() || r.name.empty() ||
      r.name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        StrCat("snapshot ID \"", id, "\" is not a Microsoft.Compute/snapshots resource ID"));
  }
  return r;
}

std::string TagKey(std::string_view k) {
  std::string out(k);
  std::replace(out.begin(), out.end(), '/', '-');
  return out;
}

std::map<std::string, std::string> TagsOf(const boost::json::value& resource) {
  std::map<std::string, std::string> out;
  const boost::json::value* tags = JsonFind(resource, {"tags"});
  if (tags == nullptr || !tags->is_object()) return out;
  for (const auto& [k, v] : tags->as_object()) {
    if (v.is_string()) out[std::string(k)] = std::string(v.as_string());
  }
  return out;
}

boost::json::object ToJsonObject(const std::map<std::string, std::string>& m) {
  boost::json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

class AzureSnapshotter : public plugin::VolumeSnapshotter, public plugin::SnapshotLister {
 public:
  AzureSnapshotter(SnapshotterSettings settings, std::unique_ptr<http::Client> http, Clock* clock,
                   std::chrono::milliseconds poll_interval)
      : s_(std::move(settings)), http_(std::move(http)), clock_(clock) {
    storage::azure::AadTokenOptions t;
    t.token_url = s_.token_url;
    t.client_id = s_.client_id;
    t.client_secret = s_.client_secret;
    t.federated_token_file = s_.federated_token_file;
    t.scope = s_.resource_manager + "/.default";
    tokens_ = storage::azure::NewAadTokenSource(std::move(t), http_.get(), clock_);
    ArmClientOptions o;
    o.endpoint = s_.resource_manager;
    o.poll_interval = poll_interval;
    arm_ = std::make_unique<ArmClient>(std::move(o), http_.get(), tokens_.get(), clock_);
  }

  StatusOr<std::string> GetVolumeId(const boost::json::value& pv) override {
    const boost::json::value* csi = JsonFind(pv, {"spec", "csi"});
    if (csi != nullptr && csi->is_object()) {
      if (JsonString(*csi, {"driver"}).value_or("") == kDiskCsiDriver) {
        std::string handle = JsonString(*csi, {"volumeHandle"}).value_or("");
        const std::string_view marker = "/microsoft.compute/disks/";
        size_t at = Lower(handle).find(marker);
        if (at == std::string::npos) return std::string();
        return handle.substr(at + marker.size());
      }
    }
    const boost::json::value* disk = JsonFind(pv, {"spec", "azureDisk"});
    if (disk == nullptr || !disk->is_object()) return std::string();
    std::string name = JsonString(*disk, {"diskName"}).value_or("");
    if (name.empty()) return absl::InvalidArgumentError("spec.azureDisk.diskName not found");
    return name;
  }

  StatusOr<boost::json::value> SetVolumeId(boost::json::value pv,
                                           const std::string& volume_id) override {
    const std::string disk_id =
        ComputeId(s_.disks_subscription, s_.disks_resource_group, "disks", volume_id);
    boost::json::object* root = pv.if_object();
    boost::json::value* spec_value = root != nullptr ? root->if_contains("spec") : nullptr;
    boost::json::object* spec = spec_value != nullptr ? spec_value->if_object() : nullptr;
    if (spec == nullptr) return absl::InvalidArgumentError("PersistentVolume has no spec");
    if (auto* csi = spec->if_contains("csi"); csi != nullptr && csi->is_object()) {
      std::string driver = JsonString(*csi, {"driver"}).value_or("");
      if (driver != kDiskCsiDriver) {
        return absl::InvalidArgumentError(StrCat("unable to handle CSI driver: ", driver));
      }
      csi->as_object()["volumeHandle"] = disk_id;
      return pv;
    }
    if (auto* disk = spec->if_contains("azureDisk"); disk != nullptr && disk->is_object()) {
      disk->as_object()["diskName"] = volume_id;
      disk->as_object()["diskURI"] = disk_id;
      return pv;
    }
    return absl::InvalidArgumentError("spec.csi and spec.azureDisk not found");
  }

  StatusOr<plugin::VolumeInfo> GetVolumeInfo(const std::string& volume_id,
                                             const std::string& zone) override {
    LIFEBOAT_ASSIGN_OR_RETURN(auto disk, GetDisk(volume_id, Deadline()));
    std::string sku = JsonString(disk, {"sku", "name"}).value_or("");
    if (sku.empty()) return absl::UnknownError(StrCat("disk ", volume_id, " has no SKU"));
    return plugin::VolumeInfo{.volume_type = sku, .iops = std::nullopt};
  }

  StatusOr<std::string> CreateSnapshot(const std::string& volume_id, const std::string& zone,
                                       const std::map<std::string, std::string>& tags) override {
    auto deadline = Deadline();
    LIFEBOAT_ASSIGN_OR_RETURN(auto disk, GetDisk(volume_id, deadline));
    const std::string suffix = "-" + NewUuid();
    std::string name = volume_id.substr(0, kMaxSnapshotName - suffix.size()) + suffix;

    // Disk tags, then Velero's (keys with '/' → '-': Azure forbids '/'), then the config's.
    std::map<std::string, std::string> all = TagsOf(disk);
    for (const auto& [k, v] : tags) all[TagKey(k)] = v;
    for (const auto& [k, v] : s_.tags) all[k] = v;

    boost::json::object creation{
        {"createOption", "Copy"},
        {"sourceResourceId",
         ComputeId(s_.disks_subscription, s_.disks_resource_group, "disks", volume_id)}};
    boost::json::object props{{"creationData", std::move(creation)}};
    if (s_.incremental) props["incremental"] = *s_.incremental;
    boost::json::object body{{"location", JsonString(disk, {"location"}).value_or("")},
                             {"properties", std::move(props)}};
    if (!all.empty()) body["tags"] = ToJsonObject(all);

    const std::string path =
        ComputePath(s_.snapshots_subscription, s_.snapshots_resource_group, "snapshots", name);
    auto done = arm_->Put(path, body, deadline);
    if (!done.ok()) return Annotate(done.status(), "creating Azure snapshot " + name);
    std::string id =
        ComputeId(s_.snapshots_subscription, s_.snapshots_resource_group, "snapshots", name);
    LB_LOG_INFO("azure: created snapshot {} of disk {}", id, volume_id);
    return id;
  }

  StatusOr<std::string> CreateVolumeFromSnapshot(const std::string& snapshot_id,
                                                 const std::string& volume_type,
                                                 const std::string& zone,
                                                 std::optional<int64_t> iops) override {
    LIFEBOAT_ASSIGN_OR_RETURN(SnapshotRef ref, ParseSnapshotId(snapshot_id));
    auto deadline = Deadline();
    auto snap = arm_->Get(ComputePath(ref.subscription, ref.resource_group, "snapshots", ref.name),
                          deadline);
    if (!snap.ok()) return Annotate(snap.status(), "getting Azure snapshot " + ref.name);
    const std::string disk_name = "restore-" + NewUuid();
    boost::json::object body{
        {"location", JsonString(*snap, {"location"}).value_or("")},
        {"properties",
         boost::json::object{
             {"creationData", boost::json::object{{"createOption", "Copy"},
                                                  {"sourceResourceId",
                                                   ComputeId(ref.subscription, ref.resource_group,
                                                             "snapshots", ref.name)}}}}}};
    if (!volume_type.empty()) body["sku"] = boost::json::object{{"name", volume_type}};
    if (auto tags = TagsOf(*snap); !tags.empty()) body["tags"] = ToJsonObject(tags);
    // Zone-redundant disks have no zone; otherwise "westeurope-2" → zone "2".
    if (volume_type != "Premium_ZRS" && volume_type != "StandardSSD_ZRS") {
      size_t dash = zone.rfind('-');
      if (dash != std::string::npos) {
        body["zones"] = boost::json::array{boost::json::string(zone.substr(dash + 1))};
      }
    }
    const std::string path =
        ComputePath(s_.disks_subscription, s_.disks_resource_group, "disks", disk_name);
    auto done = arm_->Put(path, body, deadline);
    if (!done.ok()) {
      return Annotate(done.status(),
                      "creating Azure disk " + disk_name + " from snapshot " + ref.name);
    }
    LB_LOG_INFO("azure: created disk {} from snapshot {}", disk_name, snapshot_id);
    return disk_name;
  }

  Status DeleteSnapshot(const std::string& snapshot_id) override {
    LIFEBOAT_ASSIGN_OR_RETURN(SnapshotRef ref, ParseSnapshotId(snapshot_id));
    auto deadline = Deadline();
    const std::string path =
        ComputePath(ref.subscription, ref.resource_group, "snapshots", ref.name);
    auto got = arm_->Get(path, deadline);
    if (!got.ok() && absl::IsNotFound(got.status())) {
      LB_LOG_DEBUG("azure: snapshot {} not found; nothing to delete", snapshot_id);
      return absl::OkStatus();
    }
    if (!got.ok()) return Annotate(got.status(), "getting Azure snapshot " + ref.name);
    Status st = arm_->Delete(path, deadline);
    if (!st.ok()) return Annotate(st, "deleting Azure snapshot " + ref.name);
    LB_LOG_INFO("azure: deleted snapshot {}", snapshot_id);
    return absl::OkStatus();
  }

  StatusOr<std::vector<plugin::ListedSnapshot>> ListSnapshots(
      const std::map<std::string, std::string>& tags) override {
    auto deadline = Deadline();
    std::map<std::string, std::string> want;
    for (const auto& [k, v] : tags) want[TagKey(k)] = v;
    std::vector<plugin::ListedSnapshot> out;
    std::string next =
        ComputePath(s_.snapshots_subscription, s_.snapshots_resource_group, "snapshots", "");
    for (int page = 0; !next.empty(); ++page) {
      if (page > 10000) return absl::UnavailableError("listing Azure snapshots: too many pages");
      auto list = arm_->Get(next, deadline);
      if (!list.ok()) return Annotate(list.status(), "listing Azure snapshots");
      next = JsonString(*list, {"nextLink"}).value_or("");
      const boost::json::value* value = JsonFind(*list, {"value"});
      if (value == nullptr || !value->is_array()) continue;
      for (const auto& item : value->as_array()) {
        std::string name = JsonString(item, {"name"}).value_or("");
        if (name.empty()) continue;
        auto have = TagsOf(item);
        bool match = std::all_of(want.begin(), want.end(), [&](const auto& kv) {
          auto it = have.find(kv.first);
          return it != have.end() && it->second == kv.second;
        });
        if (!match) continue;
        // Velero's own tags are reported under their original keys too.
        std::map<std::string, std::string> reported = have;
        for (const auto& [k, v] : have) {
          if (k.starts_with("velero.io-")) reported["velero.io/" + k.substr(10)] = v;
        }
        out.push_back(plugin::ListedSnapshot{
            .snapshot_id = ComputeId(s_.snapshots_subscription, s_.snapshots_resource_group,
                                     "snapshots", name),
            .tags = std::move(reported)});
      }
    }
    return out;
  }

 private:
  Clock::TimePoint Deadline() const {
    return clock_->Now() + std::chrono::duration_cast<Clock::Duration>(s_.api_timeout);
  }

  StatusOr<boost::json::value> GetDisk(const std::string& volume_id, Clock::TimePoint deadline) {
    if (volume_id.empty() || volume_id.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(StrCat("invalid Azure disk name \"", volume_id, "\""));
    }
    auto disk = arm_->Get(
        ComputePath(s_.disks_subscription, s_.disks_resource_group, "disks", volume_id), deadline);
    if (!disk.ok()) return Annotate(disk.status(), "getting Azure disk " + volume_id);
    return disk;
  }

  SnapshotterSettings s_;
  std::unique_ptr<http::Client> http_;
  Clock* clock_;
  std::unique_ptr<storage::azure::TokenSource> tokens_;
  std::unique_ptr<ArmClient> arm_;
};

}  // namespace

StatusOr<std::map<std::string, std::string>> ParseTags(std::string_view text) {
  std::map<std::string, std::string> out;
  if (StripWhitespace(text).empty()) return out;
  auto bad = [] {
    return absl::InvalidArgumentError(
        "config key tags: the valid format is \"key1=value1,key2=value2\"");
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || item.find('=', eq + 1) != std::string_view::npos) {
      return bad();
    }
    std::string key(StripWhitespace(item.substr(0, eq)));
    if (key.empty()) return bad();
    out[key] = std::string(StripWhitespace(item.substr(eq + 1)));
    start = comma + 1;
  }
  return out;
}

StatusOr<SnapshotterSettings> ResolveSnapshotterSettings(
    const std::map<std::string, std::string>& config, const SnapshotterOptions& options) {
  for (const auto& [key, value] : config) {
    if (!KnownKeys().count(key)) {
      return absl::InvalidArgumentError(
          StrCat("unknown config key \"", key,
                 "\" for volume snapshot provider azure (known: ", JoinKeys(), ")"));
    }
  }
  SnapshotterSettings s;
  if (std::string v = ConfigValue(config, "apiTimeout"); !v.empty()) {
    auto d = api::ParseGoDuration(v);
    if (!d.ok()) {
      return absl::InvalidArgumentError(StrCat("config key apiTimeout: ", d.status().message()));
    }
    if (d->count() <= 0) return absl::InvalidArgumentError("config key apiTimeout: must be > 0");
    s.api_timeout = *d;
  }
  if (std::string v = ConfigValue(config, "incremental"); !v.empty()) {
    auto b = ParseGoBool(v);
    if (!b) {
      return absl::InvalidArgumentError(
          StrCat("config key incremental: \"", v, "\" is not a boolean (true or false)"));
    }
    s.incremental = *b;
  }
  {
    auto it = config.find("tags");
    if (it != config.end()) {
      LIFEBOAT_ASSIGN_OR_RETURN(s.tags, ParseTags(it->second));
    }
  }
  std::string config_sub = ConfigValue(config, "subscriptionId");
  std::string config_rg = ConfigValue(config, "resourceGroup");
  if (!config_sub.empty() && config_rg.empty()) {
    return absl::InvalidArgumentError(
        "config key resourceGroup is required when subscriptionId is set (snapshots in another "
        "subscription)");
  }

  LIFEBOAT_ASSIGN_OR_RETURN(Credentials creds, Credentials::Load(config, options.env));
  s.disks_subscription = creds.Get("AZURE_SUBSCRIPTION_ID");
  if (s.disks_subscription.empty()) {
    return creds.Missing("AZURE_SUBSCRIPTION_ID", " (the subscription of the cluster's disks)");
  }
  s.disks_resource_group = creds.Get("AZURE_RESOURCE_GROUP");
  if (s.disks_resource_group.empty()) {
    return creds.Missing("AZURE_RESOURCE_GROUP",
                         " (the resource group of the cluster's disks, MC_... on AKS)");
  }
  s.snapshots_subscription = config_sub.empty() ? s.disks_subscription : config_sub;
  s.snapshots_resource_group = config_rg.empty() ? s.disks_resource_group : config_rg;

  LIFEBOAT_ASSIGN_OR_RETURN(auto cloud, storage::azure::CloudByName(creds.Get("AZURE_CLOUD_NAME")));
  s.resource_manager = options.azure_resource_manager_endpoint;
  if (s.resource_manager.empty() && options.env) {
    s.resource_manager = options.env("AZURE_RESOURCE_MANAGER_ENDPOINT").value_or("");
  }
  if (s.resource_manager.empty()) s.resource_manager = cloud.resource_manager;
  while (s.resource_manager.ends_with("/")) s.resource_manager.pop_back();
  if (!s.resource_manager.starts_with("https://") && !s.resource_manager.starts_with("http://")) {
    return absl::InvalidArgumentError("the Azure resource manager endpoint must be an http(s) URL");
  }

  // AAD: service principal with a secret, else workload identity.
  std::string tenant = creds.Get("AZURE_TENANT_ID");
  if (tenant.empty()) return creds.Missing("AZURE_TENANT_ID");
  s.client_id = creds.Get("AZURE_CLIENT_ID");
  if (s.client_id.empty()) return creds.Missing("AZURE_CLIENT_ID");
  std::string federated = options.env ? options.env("AZURE_FEDERATED_TOKEN_FILE").value_or("") : "";
  if (std::string secret = creds.Get("AZURE_CLIENT_SECRET"); !secret.empty()) {
    s.client_secret = secret;
  } else if (!creds.Get("AZURE_CLIENT_CERTIFICATE").empty() ||
             !creds.Get("AZURE_CLIENT_CERTIFICATE_PATH").empty()) {
    return absl::UnimplementedError(
        "Azure client-certificate credentials are not supported; use AZURE_CLIENT_SECRET or "
        "workload identity");
  } else if (!federated.empty()) {
    s.federated_token_file = federated;
  } else {
    return absl::FailedPreconditionError(
        StrCat("AZURE_CLIENT_SECRET missing from ", creds.source(),
               " and AZURE_FEDERATED_TOKEN_FILE is not set (managed identity is not supported)"));
  }
  std::string authority = ConfigValue(config, "activeDirectoryAuthorityURI");
  if (authority.empty() && options.env) {
    authority = options.env("AZURE_AUTHORITY_HOST").value_or("");
  }
  if (authority.empty()) authority = cloud.authority_host;
  while (authority.ends_with("/")) authority.pop_back();
  s.token_url = StrCat(authority, "/", tenant, "/oauth2/v2.0/token");
  return s;
}

StatusOr<std::unique_ptr<plugin::VolumeSnapshotter>> NewAzureSnapshotter(
    const std::map<std::string, std::string>& config, const SnapshotterOptions& options) {
  LIFEBOAT_ASSIGN_OR_RETURN(SnapshotterSettings settings,
                            ResolveSnapshotterSettings(config, options));
  http::ClientOptions co;
  co.user_agent = "lifeboat";
  co.request_timeout = std::chrono::milliseconds(60'000);
  StatusOr<std::unique_ptr<http::Client>> client =
      options.http_client_factory ? options.http_client_factory(co) : http::Client::Create(co);
  if (!client.ok()) return Annotate(client.status(), "creating the Azure HTTP client");
  Clock* clock = options.clock != nullptr ? options.clock : &RealClock();
  return std::unique_ptr<plugin::VolumeSnapshotter>(new AzureSnapshotter(
      std::move(settings), *std::move(client), clock, options.azure_poll_interval));
}

}  // namespace lifeboat::volume::azure
