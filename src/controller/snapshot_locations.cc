#include "lifeboat/controller/snapshot_locations.h"

#include <sys/stat.h>

#include <filesystem>
#include <set>

#include <absl/strings/escaping.h>

#include "lifeboat/common/log.h"
#include "lifeboat/controller/kinds.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/object.h"
#include "src/controller/private_files.h"

namespace lifeboat::controller {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

StatusOr<std::vector<api::VolumeSnapshotLocation>> ListLocations(const ServerContext& ctx,
                                                                  const CancellationToken& cancel) {
  std::vector<api::VolumeSnapshotLocation> out;
  kube::ListAllOptions lo;
  lo.list.cancel = cancel;
  auto listed = kube::ListAll(*ctx.client, kVolumeSnapshotLocations, ctx.options.ns, lo,
                              [&](json::value&& item) {
                                auto vsl = api::VolumeSnapshotLocationFromJson(item);
                                if (!vsl.ok()) {
                                  LB_LOG_WARN("volume snapshot location {}/{} is malformed: {}",
                                              ctx.options.ns, kube::ObjectName(item),
                                              std::string(vsl.status().message()));
                                  return absl::OkStatus();
                                }
                                out.push_back(std::move(*vsl));
                                return absl::OkStatus();
                              });
  if (!listed.ok()) return listed.status();
  return out;
}

}  // namespace

StatusOr<ResolvedSnapshotLocation> ResolveSnapshotLocation(const ServerContext& ctx,
                                                           const api::VolumeSnapshotLocation& vsl,
                                                           const CancellationToken& cancel) {
  ResolvedSnapshotLocation out;
  out.name = vsl.metadata.name;
  out.provider = vsl.spec.provider;
  out.config = vsl.spec.config;
  if (!vsl.spec.credential || vsl.spec.credential->name.empty()) return out;
  const auto& sel = *vsl.spec.credential;
  const std::string what = "volume snapshot location " + out.name + ": credential secret " +
                           ctx.options.ns + "/" + sel.name;
  LIFEBOAT_ASSIGN_OR_RETURN(auto secret,
                            GetIfExists(*ctx.client, kSecrets, ctx.options.ns, sel.name, cancel));
  if (!secret) {
    if (sel.optional.value_or(false)) return out;
    return absl::FailedPreconditionError(what + " not found");
  }
  const json::value* value = nullptr;
  if (const auto* data = secret->as_object().if_contains("data"); data && data->is_object()) {
    value = data->as_object().if_contains(sel.key);
  }
  std::string decoded;
  if (value == nullptr || !value->is_string() ||
      !absl::Base64Unescape(std::string(value->as_string()), &decoded)) {
    if (value == nullptr && sel.optional.value_or(false)) return out;
    return absl::FailedPreconditionError(what + " has no valid key " + sel.key);
  }
  const fs::path base = ctx.options.temp_dir / "lifeboat-vsl-credentials";
  std::error_code ec;
  fs::create_directories(base, ec);
  ::chmod(base.c_str(), 0700);
  const fs::path path = base / SafeSegment(out.name) / SafeSegment(sel.key);
  LIFEBOAT_RETURN_IF_ERROR(WritePrivateFile(path, decoded));
  out.config["credentialsFile"] = path.string();
  return out;
}

StatusOr<std::vector<ResolvedSnapshotLocation>> AllSnapshotLocations(
    const ServerContext& ctx, const CancellationToken& cancel) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto vsls, ListLocations(ctx, cancel));
  std::vector<ResolvedSnapshotLocation> out;
  for (const auto& vsl : vsls) {
    auto r = ResolveSnapshotLocation(ctx, vsl, cancel);
    if (!r.ok()) {
      LB_LOG_WARN("{}", std::string(r.status().message()));
      continue;
    }
    out.push_back(std::move(*r));
  }
  return out;
}

StatusOr<BackupSnapshotLocations> ChooseBackupSnapshotLocations(const ServerContext& ctx,
                                                                const api::BackupSpec& spec,
                                                                const CancellationToken& cancel) {
  BackupSnapshotLocations out;
  if (spec.snapshot_volumes == false) return out;
  LIFEBOAT_ASSIGN_OR_RETURN(auto vsls, ListLocations(ctx, cancel));
  std::map<std::string, std::vector<std::string>> by_provider;  // provider -> names
  std::map<std::string, std::string> provider_of;
  for (const auto& v : vsls) {
    by_provider[v.spec.provider].push_back(v.metadata.name);
    provider_of[v.metadata.name] = v.spec.provider;
  }
  std::map<std::string, std::string> chosen;  // provider -> name
  for (const auto& name : spec.volume_snapshot_locations) {
    auto it = provider_of.find(name);
    if (it == provider_of.end()) {
      out.errors.push_back("a VolumeSnapshotLocation CRD for the location " + name +
                           " with the name specified in the backup spec needs to be created "
                           "before this snapshot location can be used");
      continue;
    }
    auto [pos, inserted] = chosen.emplace(it->second, name);
    if (!inserted && pos->second != name) {
      out.errors.push_back("more than one VolumeSnapshotLocation name specified for provider " +
                           it->second + ": " + name + "; unexpected name was " + pos->second);
    }
  }
  if (!out.errors.empty()) return out;
  for (const auto& [provider, names] : by_provider) {
    if (chosen.count(provider) > 0) continue;
    if (auto d = ctx.options.default_volume_snapshot_locations.find(provider);
        d != ctx.options.default_volume_snapshot_locations.end()) {
      if (provider_of.count(d->second) == 0 || provider_of[d->second] != provider) {
        out.errors.push_back("the default volume snapshot location " + d->second +
                             " for provider " + provider + " does not exist");
        continue;
      }
      chosen[provider] = d->second;
    } else if (names.size() == 1) {
      chosen[provider] = names.front();
    } else {
      out.errors.push_back("provider " + provider +
                           " has more than one possible volume snapshot location, and none "
                           "were specified explicitly or as a default");
    }
  }
  for (const auto& [provider, name] : chosen) out.names.push_back(name);
  return out;
}

}  // namespace lifeboat::controller
