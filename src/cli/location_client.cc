// `lifeboat backup-location ...` and `lifeboat snapshot-location ...`: the commands
// (location_commands.h).

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "lifeboat/api/restore.h"
#include "lifeboat/controller/kinds.h"
#include "src/cli/client.h"
#include "src/cli/location_commands.h"
#include "src/cli/output.h"

namespace lifeboat::cli {
namespace json = boost::json;
using controller::kBackupStorageLocations;
using controller::kVolumeSnapshotLocations;

namespace {

const kube::GroupVersionResource kBackupRepositories{"velero.io", "v1", "backuprepositories"};
constexpr const char* kStorageLocationLabel = "velero.io/storage-location";

// What the commands of one kind share.
struct Kind {
  const kube::GroupVersionResource& gvr;
  const char* resource;  // "backupstoragelocations"
  const char* singular;  // "backup storage location"
};
const Kind kBsl{kBackupStorageLocations, "backupstoragelocations", "backup storage location"};
const Kind kVsl{kVolumeSnapshotLocations, "volumesnapshotlocations", "volume snapshot location"};

struct ListFlags {
  std::vector<std::string> names;
  std::string selector, output = "table";
  bool all = false, confirm = false, default_only = false;
};

StatusOr<std::vector<json::value>> Select(ApiClient& c, const Kind& k, const ListFlags& f) {
  if (f.names.empty()) return ListObjects(c, k.gvr, f.selector);
  std::vector<json::value> out;
  for (const auto& n : f.names) {
    LIFEBOAT_ASSIGN_OR_RETURN(auto v, GetObject(c, k.gvr, k.singular, n));
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<std::string> ReadFile(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read the " + flag + " file \"" + path + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::object CredentialJson(const api::SecretKeySelector& s) {
  return json::object{{"name", s.name}, {"key", s.key}};
}

// Velero keeps one default location: every other default one is made non-default.
int UnsetOtherDefaults(ApiClient& c, const std::string& keep) {
  auto list = ListObjects(c, kBackupStorageLocations, "");
  if (!list.ok()) return PrintError(std::string(list.status().message()));
  int rc = 0;
  for (const auto& v : *list) {
    auto l = api::BackupStorageLocationFromJson(v);
    if (!l.ok() || !l->spec.default_ || l->metadata.name == keep) continue;
    auto patched = controller::MergePatch(c.dyn(), kBackupStorageLocations, c.ns, l->metadata.name,
                                          json::object{{"spec", json::object{{"default", false}}}});
    if (!patched.ok()) {
      rc = PrintError(Explain(patched.status(), "patch", "backupstoragelocations", c.ns));
      continue;
    }
    std::printf("Backup storage location \"%s\" is no longer the default.\n",
                l->metadata.name.c_str());
  }
  return rc;
}

int PrintObjects(const std::vector<json::value>& objects, bool single, const std::string& format) {
  auto text = FormatObjects(objects, single, format);
  if (!text.ok()) return PrintError(std::string(text.status().message()));
  std::fputs(text->c_str(), stdout);
  return 0;
}

// ---- backup-location

int RunBslCreate(const BslCreateFlags& f, const ClientFlags& cf) {
  std::string cacert;
  if (!f.cacert_file.empty()) {
    auto data = ReadFile(f.cacert_file, "--cacert");
    if (!data.ok()) return PrintError(std::string(data.status().message()));
    cacert = std::move(*data);
  }
  auto l = BuildBackupStorageLocation(f, cf.namespace_name, cacert);
  if (!l.ok()) return PrintError(std::string(l.status().message()));
  if (!f.output.empty()) return PrintObjects({api::ToJson(*l)}, true, f.output);
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "create", "backupstoragelocations", cf.namespace_name));
  }
  auto created = (*c)->dyn().Create(kBackupStorageLocations, cf.namespace_name, api::ToJson(*l));
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status())) {
      return PrintError("backup storage location \"" + f.name + "\" already exists (change it " +
                        "with `lifeboat backup-location set`)");
    }
    return PrintError(
        Explain(created.status(), "create", "backupstoragelocations", cf.namespace_name));
  }
  std::printf("Backup storage location \"%s\" configured successfully.\n", f.name.c_str());
  if (f.default_) return UnsetOtherDefaults(**c, f.name);
  return 0;
}

int RunBslGet(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "list", "backupstoragelocations", cf.namespace_name));
  }
  auto objects = Select(**c, kBsl, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  std::vector<json::value> raw;
  std::vector<api::BackupStorageLocation> locations;
  for (auto& o : *objects) {
    auto l = api::BackupStorageLocationFromJson(o);
    if (!l.ok()) continue;
    if (f.default_only && !l->spec.default_) continue;
    locations.push_back(std::move(*l));
    raw.push_back(std::move(o));
  }
  if (f.default_only && locations.empty()) {
    return PrintError("there is no default backup storage location in namespace \"" +
                      cf.namespace_name +
                      "\"; make one the default with `lifeboat backup-location set NAME "
                      "--default`");
  }
  if (f.output != "table") {
    return PrintObjects(raw, f.names.size() == 1 || (f.default_only && raw.size() == 1), f.output);
  }
  std::fputs(BackupLocationTable(std::move(locations)).c_str(), stdout);
  return 0;
}

struct BslSetFlags {
  std::string name, default_, credential, cacert_file;
};

int RunBslSet(const BslSetFlags& f, const ClientFlags& cf) {
  if (f.default_.empty() && f.credential.empty() && f.cacert_file.empty()) {
    return PrintError("nothing to change: give --default, --credential or --cacert");
  }
  json::object spec;
  if (!f.credential.empty()) {
    auto cred = ParseCredential(f.credential);
    if (!cred.ok()) return PrintError(std::string(cred.status().message()));
    spec["credential"] = CredentialJson(*cred);
  }
  if (!f.cacert_file.empty()) {
    auto data = ReadFile(f.cacert_file, "--cacert");
    if (!data.ok()) return PrintError(std::string(data.status().message()));
    spec["objectStorage"] = json::object{{"caCert", absl::Base64Escape(*data)}};
  }
  if (!f.default_.empty()) spec["default"] = f.default_ == "true";
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "patch", "backupstoragelocations", cf.namespace_name));
  }
  if (auto got = GetObject(**c, kBackupStorageLocations, "backup storage location", f.name);
      !got.ok()) {
    return PrintError(std::string(got.status().message()));
  }
  auto patched = controller::MergePatch((*c)->dyn(), kBackupStorageLocations, cf.namespace_name,
                                        f.name, json::object{{"spec", spec}});
  if (!patched.ok()) {
    return PrintError(
        Explain(patched.status(), "patch", "backupstoragelocations", cf.namespace_name));
  }
  std::printf("Backup storage location \"%s\" configured successfully.\n", f.name.c_str());
  if (f.default_ == "true") return UnsetOtherDefaults(**c, f.name);
  return 0;
}

// Deletes the objects of `gvr` in `items`, printing `what` for each; returns 1 on an error.
int DeleteAll(ApiClient& c, const kube::GroupVersionResource& gvr, const char* resource,
              const std::vector<std::string>& names, const std::string& what) {
  int rc = 0;
  for (const auto& n : names) {
    auto deleted = c.dyn().Delete(gvr, c.ns, n);
    if (!deleted.ok() && !absl::IsNotFound(deleted.status())) {
      rc = PrintError(Explain(deleted.status(), "delete", resource, c.ns));
      continue;
    }
    std::printf("%s \"%s\" deleted successfully.\n", what.c_str(), n.c_str());
  }
  return rc;
}

std::vector<std::string> Names(const std::vector<json::value>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) {
    const auto* meta = o.is_object() ? o.as_object().if_contains("metadata") : nullptr;
    const auto* name = meta && meta->is_object() ? meta->as_object().if_contains("name") : nullptr;
    if (name && name->is_string()) out.emplace_back(name->as_string());
  }
  return out;
}

int RunBslDelete(const ListFlags& f, const ClientFlags& cf) {
  if (f.names.empty() && f.selector.empty() && !f.all) {
    return PrintError(
        "give the names of the backup storage locations to delete, --selector or --all");
  }
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "delete", "backupstoragelocations", cf.namespace_name));
  }
  auto objects = Select(**c, kBsl, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  const std::vector<std::string> locations = Names(*objects);
  if (locations.empty()) {
    std::printf("No backup-locations found\n");
    return 0;
  }
  if (!f.confirm && !Confirm(BackupLocationDeleteQuestion(locations.size()))) {
    std::printf("Cancelled: nothing deleted (use --confirm to skip this question).\n");
    return 1;
  }
  ApiClient& api = **c;
  int rc = 0;
  for (const auto& loc : locations) {
    if (DeleteAll(api, kBackupStorageLocations, "backupstoragelocations", {loc},
                  "Backup storage location") != 0) {
      rc = 1;
      continue;
    }
    const std::string selector = std::string(kStorageLocationLabel) + "=" + loc;
    // The Backup objects of the location (not their files in the bucket), as Velero does.
    auto backups = ListObjects(api, controller::kBackups, selector);
    if (!backups.ok()) {
      rc = PrintError("finding the backups of location \"" + loc +
                      "\": " + std::string(backups.status().message()));
      continue;
    }
    const std::vector<std::string> backup_names = Names(*backups);
    const std::set<std::string> backup_set(backup_names.begin(), backup_names.end());
    // Restores made from those backups would point at nothing: they go too.
    if (!backup_set.empty()) {
      auto restores = ListObjects(api, controller::kRestores, "");
      if (!restores.ok()) {
        rc = PrintError("finding the restores of location \"" + loc +
                        "\": " + std::string(restores.status().message()));
      } else {
        std::vector<std::string> doomed;
        for (const auto& r : *restores) {
          auto restore = api::RestoreFromJson(r);
          if (restore.ok() && backup_set.count(restore->spec.backup_name)) {
            doomed.push_back(restore->metadata.name);
          }
        }
        rc |= DeleteAll(api, controller::kRestores, "restores", doomed,
                        "Restore of a backup of the deleted location");
      }
    }
    rc |= DeleteAll(api, controller::kBackups, "backups", backup_names,
                    "Backup associated with the deleted location");
    // Backup repositories of the location, when the kind is installed.
    auto repos = ListObjects(api, kBackupRepositories, selector);
    if (repos.ok()) {
      rc |= DeleteAll(api, kBackupRepositories, "backuprepositories", Names(*repos),
                      "Backup repository associated with the deleted location");
    }
  }
  return rc;
}

// ---- snapshot-location

int RunVslCreate(const VslCreateFlags& f, const ClientFlags& cf) {
  auto l = BuildVolumeSnapshotLocation(f, cf.namespace_name);
  if (!l.ok()) return PrintError(std::string(l.status().message()));
  if (!f.output.empty()) return PrintObjects({api::ToJson(*l)}, true, f.output);
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "create", "volumesnapshotlocations", cf.namespace_name));
  }
  auto created = (*c)->dyn().Create(kVolumeSnapshotLocations, cf.namespace_name, api::ToJson(*l));
  if (!created.ok()) {
    if (absl::IsAlreadyExists(created.status())) {
      return PrintError("volume snapshot location \"" + f.name + "\" already exists (change it " +
                        "with `lifeboat snapshot-location set`)");
    }
    return PrintError(
        Explain(created.status(), "create", "volumesnapshotlocations", cf.namespace_name));
  }
  std::printf("Snapshot volume location \"%s\" configured successfully.\n", f.name.c_str());
  return 0;
}

int RunVslGet(const ListFlags& f, const ClientFlags& cf) {
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "list", "volumesnapshotlocations", cf.namespace_name));
  }
  auto objects = Select(**c, kVsl, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  if (f.output != "table") return PrintObjects(*objects, f.names.size() == 1, f.output);
  std::vector<api::VolumeSnapshotLocation> locations;
  for (const auto& o : *objects) {
    if (auto l = api::VolumeSnapshotLocationFromJson(o); l.ok()) locations.push_back(std::move(*l));
  }
  std::fputs(SnapshotLocationTable(std::move(locations)).c_str(), stdout);
  return 0;
}

struct VslSetFlags {
  std::string name, credential;
};

int RunVslSet(const VslSetFlags& f, const ClientFlags& cf) {
  if (f.credential.empty()) return PrintError("nothing to change: give --credential");
  auto cred = ParseCredential(f.credential);
  if (!cred.ok()) return PrintError(std::string(cred.status().message()));
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "patch", "volumesnapshotlocations", cf.namespace_name));
  }
  if (auto got = GetObject(**c, kVolumeSnapshotLocations, "volume snapshot location", f.name);
      !got.ok()) {
    return PrintError(std::string(got.status().message()));
  }
  auto patched = controller::MergePatch(
      (*c)->dyn(), kVolumeSnapshotLocations, cf.namespace_name, f.name,
      json::object{{"spec", json::object{{"credential", CredentialJson(*cred)}}}});
  if (!patched.ok()) {
    return PrintError(
        Explain(patched.status(), "patch", "volumesnapshotlocations", cf.namespace_name));
  }
  std::printf("Volume snapshot location \"%s\" configured successfully.\n", f.name.c_str());
  return 0;
}

int RunVslDelete(const ListFlags& f, const ClientFlags& cf) {
  if (f.names.empty() && f.selector.empty() && !f.all) {
    return PrintError(
        "give the names of the volume snapshot locations to delete, --selector or --all");
  }
  auto c = Connect(cf);
  if (!c.ok()) {
    return PrintError(Explain(c.status(), "delete", "volumesnapshotlocations", cf.namespace_name));
  }
  auto objects = Select(**c, kVsl, f);
  if (!objects.ok()) return PrintError(std::string(objects.status().message()));
  const std::vector<std::string> names = Names(*objects);
  if (names.empty()) {
    std::printf("No snapshot-locations found\n");
    return 0;
  }
  if (!f.confirm &&
      !Confirm("You are about to delete " + std::to_string(names.size()) +
               " volume snapshot location(s) (existing snapshots and backups are kept).")) {
    std::printf("Cancelled: nothing deleted (use --confirm to skip this question).\n");
    return 1;
  }
  return DeleteAll(**c, kVolumeSnapshotLocations, "volumesnapshotlocations", names,
                   "Volume snapshot location");
}

void AddOutputFlag(CLI::App* cmd, std::string* output, bool create) {
  if (create) {
    cmd->add_option("-o,--output", *output,
                    "print the object as json or yaml instead of creating it")
        ->check(CLI::IsMember({"json", "yaml"}));
  } else {
    cmd->add_option("-o,--output", *output, "output format: table, json or yaml")
        ->check(CLI::IsMember({"table", "json", "yaml"}))
        ->capture_default_str();
  }
}

void AddDeleteFlags(CLI::App* cmd, ListFlags* f, const char* what) {
  cmd->add_option("names", f->names, std::string(what) + " to delete");
  cmd->add_option("-l,--selector", f->selector,
                  std::string("delete the ") + what + " with these labels");
  cmd->add_flag("--all", f->all, std::string("delete all ") + what);
  cmd->add_flag("--confirm", f->confirm, "do not ask for confirmation");
}

}  // namespace

void AddLocationCommands(CLI::App& app, int* exit_code) {
  auto* bsl = app.add_subcommand("backup-location", "Work with backup storage locations");
  bsl->require_subcommand(1);
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<BslCreateFlags>();
    auto* cmd = bsl->add_subcommand("create", "Create a backup storage location");
    cmd->add_option("name", f->name, "the location's name")->required();
    cmd->add_option("--provider", f->provider,
                    "the object store provider (aws, azure, gcp, local, ...)");
    cmd->add_option("--bucket", f->bucket, "the bucket (or container) to store backups in");
    cmd->add_option("--prefix", f->prefix,
                    "a prefix inside the bucket for all of lifeboat's files");
    cmd->add_option("--config", f->config, "provider settings, key1=value1,key2=value2");
    cmd->add_option("--credential", f->credential,
                    "the credentials: SECRET=KEY of a Secret in the server's namespace");
    cmd->add_flag("--default", f->default_,
                  "make this the default location (the previous default is unset)");
    cmd->add_option("--access-mode", f->access_mode, "ReadWrite or ReadOnly")
        ->check(CLI::IsMember({"ReadWrite", "ReadOnly"}))
        ->capture_default_str();
    cmd->add_option("--backup-sync-period", f->backup_sync_period,
                    "how often to sync backups from the bucket (Go duration; 0 disables)");
    cmd->add_option("--validation-frequency", f->validation_frequency,
                    "how often to check that the location is available (Go duration)");
    cmd->add_option("--cacert", f->cacert_file,
                    "file with a CA bundle to verify the object store's TLS certificate");
    cmd->add_option("--labels", f->labels, "labels of the location, k1=v1,k2=v2");
    AddOutputFlag(cmd, &f->output, true);
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunBslCreate(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ListFlags>();
    auto* cmd = bsl->add_subcommand("get", "List backup storage locations");
    cmd->add_option("names", f->names, "locations to show (default: all)");
    cmd->add_option("-l,--selector", f->selector, "only locations with these labels");
    cmd->add_flag("--default", f->default_only, "only the default location");
    AddOutputFlag(cmd, &f->output, false);
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunBslGet(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<BslSetFlags>();
    auto* cmd = bsl->add_subcommand("set", "Change a backup storage location");
    cmd->add_option("name", f->name, "the location")->required();
    cmd->add_flag("--default", f->default_,
                  "make this the default location (the previous default is unset); "
                  "--default=false unsets it")
        ->check(CLI::IsMember({"true", "false"}));
    cmd->add_option("--credential", f->credential,
                    "the credentials: SECRET=KEY of a Secret in the server's namespace");
    cmd->add_option("--cacert", f->cacert_file,
                    "file with a CA bundle to verify the object store's TLS certificate");
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunBslSet(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ListFlags>();
    auto* cmd = bsl->add_subcommand(
        "delete",
        "Delete backup storage locations and the Backup/Restore objects that use them (the "
        "bucket's data is kept)");
    AddDeleteFlags(cmd, f.get(), "locations");
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunBslDelete(*f, *cf); });
  }

  auto* vsl = app.add_subcommand("snapshot-location", "Work with volume snapshot locations");
  vsl->require_subcommand(1);
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<VslCreateFlags>();
    auto* cmd = vsl->add_subcommand("create", "Create a volume snapshot location");
    cmd->add_option("name", f->name, "the location's name")->required();
    cmd->add_option("--provider", f->provider, "the volume snapshotter (aws, azure, gcp, ...)");
    cmd->add_option("--config", f->config, "provider settings, key1=value1,key2=value2");
    cmd->add_option("--credential", f->credential,
                    "the credentials: SECRET=KEY of a Secret in the server's namespace");
    cmd->add_option("--labels", f->labels, "labels of the location, k1=v1,k2=v2");
    AddOutputFlag(cmd, &f->output, true);
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunVslCreate(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ListFlags>();
    auto* cmd = vsl->add_subcommand("get", "List volume snapshot locations");
    cmd->add_option("names", f->names, "locations to show (default: all)");
    cmd->add_option("-l,--selector", f->selector, "only locations with these labels");
    AddOutputFlag(cmd, &f->output, false);
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunVslGet(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<VslSetFlags>();
    auto* cmd = vsl->add_subcommand("set", "Change a volume snapshot location");
    cmd->add_option("name", f->name, "the location")->required();
    cmd->add_option("--credential", f->credential,
                    "the credentials: SECRET=KEY of a Secret in the server's namespace");
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunVslSet(*f, *cf); });
  }
  {
    auto cf = std::make_shared<ClientFlags>();
    auto f = std::make_shared<ListFlags>();
    auto* cmd = vsl->add_subcommand("delete", "Delete volume snapshot locations");
    AddDeleteFlags(cmd, f.get(), "locations");
    BindClientFlags(cmd, cf.get());
    cmd->callback([=] { *exit_code = RunVslDelete(*f, *cf); });
  }
}

}  // namespace lifeboat::cli
