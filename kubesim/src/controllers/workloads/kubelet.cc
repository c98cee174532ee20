// The kubelet of every simulated node: a pod bound to one of kubesim's nodes gets its volumes
// laid out under <data_dir>/kubelet/pods/<uid>/volumes/kubernetes.io~<plugin>/<volume> (config
// map, secret, downward API and projected volumes hold their files; a persistent volume claim's
// directory is a link to its bound volume under <data_dir>/volumes), a log file per container,
// and then the status a real kubelet reports for running containers: phase Running, the pod
// conditions, host and pod IPs, container statuses. Pods of Jobs run to completion (phase
// Succeeded, containers terminated with exit code 0). A pod whose volumes are not ready (an
// unbound claim, a missing config map or secret) stays Pending in ContainerCreating and is
// retried when those objects change. Deleted pods lose their directory.
//
// Each container also gets a root directory <data_dir>/kubelet/pods/<uid>/containers/<name>
// (what `kubectl exec` gives it as $KUBESIM_ROOT) in which every volumeMount is a symlink
// <mountPath without the leading "/"> to the volume's directory (to <subPath> in it if given):
// a container mounting a claim at /data finds the volume at $KUBESIM_ROOT/data. A mountPath
// with ".." (or nothing but "/") keeps the pod Pending, as kube-apiserver would refuse it; a
// mount below another mount of the same container is not linked (it would land in the other
// volume).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "kubesim/src/api/object_util.h"
#include "kubesim/src/controllers/workloads/base.h"
#include "kubesim/src/controllers/workloads/workloads_internal.h"
#include "lifeboat/common/log.h"

namespace kubesim::workloads {
namespace {

namespace fs = std::filesystem;

constexpr char kNodePrefix[] = "kubesim-node-";

int NodeIndex(const std::string& name, int nodes) {
  const std::string prefix = kNodePrefix;
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  std::string digits = name.substr(prefix.size());
  if (digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return 0;
  }
  int i = std::stoi(digits);
  return i >= 1 && i <= nodes && std::to_string(i) == digits ? i : 0;
}

// 64 hex digits derived from `seed` (container and image ids).
std::string Hex64(const std::string& seed) {
  std::string out;
  for (uint32_t round = 0; round < 8; ++round) {
    uint32_t h = 2166136261u ^ round;
    for (unsigned char c : seed) {
      h ^= c;
      h *= 16777619u;
    }
    char buf[9];
    std::snprintf(buf, sizeof(buf), "%08x", h);
    out += buf;
  }
  return out;
}

std::optional<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = val(c);
    if (v < 0) return std::nullopt;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

// A relative path of safe components ("a/b.txt"), or nullopt.
std::optional<fs::path> SafeRelative(std::string_view p) {
  fs::path out;
  size_t start = 0;
  if (p.empty()) return std::nullopt;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (!IsSafePathComponent(part)) return std::nullopt;
    out /= std::string(part);
    start = end + 1;
  }
  return out;
}

// The kubelet plugin directory name of a volume source ("emptyDir" -> "empty-dir").
std::string PluginName(const std::string& source) {
  static const std::map<std::string, std::string> kKnown = {
      {"emptyDir", "empty-dir"},   {"configMap", "configmap"},   {"secret", "secret"},
      {"projected", "projected"},  {"hostPath", "host-path"},    {"downwardAPI", "downward-api"},
      {"csi", "csi"},              {"nfs", "nfs"},               {"ephemeral", "csi"},
      {"iscsi", "iscsi"},          {"local", "local-volume"},    {"fc", "fc"}};
  if (auto it = kKnown.find(source); it != kKnown.end()) return it->second;
  std::string out;
  for (char c : source) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back('-');
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Files a volume holds: relative path -> (content, mode).
struct VolumeFile {
  fs::path path;
  std::string content;
  int64_t mode = 0644;
};

class Kubelet : public KeyedController {
 public:
  explicit Kubelet(const ControllerContext& ctx)
      : w_(ctx.cluster, "kubelet"), data_dir_(ctx.data_dir), nodes_(std::max(0, ctx.nodes)) {}

  std::string name() const override { return "kubelet"; }
  std::vector<std::string> Watches() const override {
    return {"pods", "persistentvolumeclaims", "configmaps", "secrets"};
  }

  void Resync() override {
    KeyedController::Resync();
    CollectOrphanDirs();
  }

 protected:
  void KeysFor(const StoreEvent& e, std::set<Key>& keys) override {
    if (e.object->gr == "pods") {
      if (e.type == EventType::kDeleted) {
        RemovePodDir(MetaString(e.object->object, "uid"));
        return;
      }
      if (Ours(e.object->object)) keys.insert({e.object->ns, e.object->name});
      return;
    }
    // A claim, config map or secret changed: pods waiting for it may start now.
    if (e.type == EventType::kDeleted) return;
    const std::string source = e.object->gr == "persistentvolumeclaims" ? "persistentVolumeClaim"
                               : e.object->gr == "configmaps"           ? "configMap"
                                                                        : "secret";
    const std::string& obj_name = e.object->name;
    w_.store().List("pods", e.object->ns, false, "", 0, [&](const StoredObject& p) {
      if (!Ours(p.object) || PodPhase(p.object) == "Running" || PodPhase(p.object) == "Succeeded" ||
          PodPhase(p.object) == "Failed") {
        return false;
      }
      if (References(p.object, source, obj_name)) keys.insert({p.ns, p.name});
      return false;
    });
  }

  std::vector<Key> AllKeys() override {
    std::vector<Key> keys;
    w_.store().List("pods", "", true, "", 0, [&](const StoredObject& p) {
      if (Ours(p.object)) keys.push_back({p.ns, p.name});
      return false;
    });
    return keys;
  }

  void Reconcile(const Key& key) override;

 private:
  bool Ours(const json::value& pod) const {
    return NodeIndex(GetString(pod, {"spec", "nodeName"}), nodes_) > 0;
  }

  static bool References(const json::value& pod, const std::string& source, const std::string& name) {
    for (const json::value& v : GetArray(pod, {"spec", "volumes"})) {
      if (source == "persistentVolumeClaim" && GetString(v, {"persistentVolumeClaim", "claimName"}) == name) return true;
      if (source == "configMap" && GetString(v, {"configMap", "name"}) == name) return true;
      if (source == "secret" && GetString(v, {"secret", "secretName"}) == name) return true;
      for (const json::value& s : GetArray(v, {"projected", "sources"})) {
        if (source == "configMap" && GetString(s, {"configMap", "name"}) == name) return true;
        if (source == "secret" && GetString(s, {"secret", "name"}) == name) return true;
      }
    }
    return false;
  }

  fs::path PodDir(const std::string& uid) const { return data_dir_ / "kubelet" / "pods" / uid; }

  void RemovePodDir(const std::string& uid) {
    if (data_dir_.empty() || !IsSafePathComponent(uid)) return;
    std::error_code ec;
    fs::remove_all(PodDir(uid), ec);
    if (ec) LB_LOG_DEBUG("kubesim: kubelet: removing pod dir {}: {}", uid, ec.message());
  }

  // Removes the directories of pods that no longer exist (deleted while kubesim was down).
  void CollectOrphanDirs() {
    if (data_dir_.empty()) return;
    std::error_code ec;
    const fs::path root = data_dir_ / "kubelet" / "pods";
    if (!fs::is_directory(root, ec)) return;
    std::set<std::string> uids;
    w_.store().List("pods", "", true, "", 0, [&](const StoredObject& p) {
      uids.insert(MetaString(p.object, "uid"));
      return false;
    });
    std::vector<std::string> stale;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      std::string uid = it->path().filename().string();
      if (!uids.contains(uid)) stale.push_back(uid);
    }
    for (const std::string& uid : stale) RemovePodDir(uid);
  }

  // The files of a config map or secret volume (or projection); nullopt (with `why`) if the
  // object is missing and not optional.
  std::optional<std::vector<VolumeFile>> SourceFiles(const std::string& ns, const json::value& src, bool secret,
                                                     int64_t default_mode, std::string& why);
  std::vector<VolumeFile> DownwardFiles(const json::value& pod, const json::value& src, int64_t default_mode);
  // Lays out every volume; returns "" or why the pod cannot start yet.
  std::string PrepareVolumes(const json::value& pod);
  // The containers' root directories with a link per volumeMount; "" or why not.
  std::string LinkMounts(const json::value& pod, const std::map<std::string, fs::path>& volume_dirs);
  std::string PodIp(const json::value& pod, int node_index);
  json::object RunningStatus(const json::value& pod, int node_index);
  void WriteLogs(const json::value& pod, const std::string& line);
  void SetWaiting(const ResourceType& pods, const Key& key, const std::string& why);
  void Complete(const ResourceType& pods, const Key& key);

  Writer w_;
  fs::path data_dir_;
  int nodes_;
};

std::optional<std::vector<VolumeFile>> Kubelet::SourceFiles(const std::string& ns, const json::value& src,
                                                            bool secret, int64_t default_mode, std::string& why) {
  const std::string obj_name = secret ? GetString(src, {"secretName"}, GetString(src, {"name"})) : GetString(src, {"name"});
  const bool optional = GetBool(src, {"optional"}, false);
  const int64_t mode = GetInt(src, {"defaultMode"}, default_mode);
  std::vector<VolumeFile> files;
  ObjectPtr obj = obj_name.empty() ? nullptr : w_.store().Get(secret ? "secrets" : "configmaps", ns, obj_name);
  if (obj == nullptr) {
    if (optional) return files;
    why = std::string(secret ? "secret" : "configmap") + " \"" + obj_name + "\" not found";
    return std::nullopt;
  }
  std::map<std::string, std::string> data;
  auto decode_into = [&](const char* field) {
    if (const json::value* d = Find(obj->object, {field}); d && d->is_object()) {
      for (const auto& kv : d->as_object()) {
        if (!kv.value().is_string()) continue;
        if (auto bytes = Base64Decode(kv.value().as_string())) data[std::string(kv.key())] = *bytes;
      }
    }
  };
  if (secret) {
    decode_into("data");
    for (const auto& [k, v] : ToStringMap(Find(obj->object, {"stringData"}))) data[k] = v;
  } else {
    for (const auto& [k, v] : ToStringMap(Find(obj->object, {"data"}))) data[k] = v;
    decode_into("binaryData");
  }
  const json::array& items = GetArray(src, {"items"});
  if (items.empty()) {
    for (const auto& [k, v] : data) {
      if (IsSafePathComponent(k)) files.push_back({k, v, mode});
    }
    return files;
  }
  for (const json::value& item : items) {
    auto it = data.find(GetString(item, {"key"}));
    if (it == data.end()) {
      if (optional) continue;
      why = "key \"" + GetString(item, {"key"}) + "\" not found in " + (secret ? "secret" : "configmap") + " \"" +
            obj_name + "\"";
      return std::nullopt;
    }
    auto path = SafeRelative(GetString(item, {"path"}));
    if (path) files.push_back({*path, it->second, GetInt(item, {"mode"}, mode)});
  }
  return files;
}

std::vector<VolumeFile> Kubelet::DownwardFiles(const json::value& pod, const json::value& src, int64_t default_mode) {
  std::vector<VolumeFile> files;
  const int64_t mode = GetInt(src, {"defaultMode"}, default_mode);
  auto render_map = [](const StringMap& m) {
    std::string out;
    for (const auto& [k, v] : m) out += k + "=\"" + v + "\"\n";
    return out;
  };
  for (const json::value& item : GetArray(src, {"items"})) {
    auto path = SafeRelative(GetString(item, {"path"}));
    if (!path) continue;
    const std::string field = GetString(item, {"fieldRef", "fieldPath"});
    std::string content;
    if (field == "metadata.name") content = MetaString(pod, "name");
    else if (field == "metadata.namespace") content = MetaString(pod, "namespace");
    else if (field == "metadata.uid") content = MetaString(pod, "uid");
    else if (field == "metadata.labels") content = render_map(LabelsOf(pod));
    else if (field == "metadata.annotations") content = render_map(AnnotationsOf(pod));
    else if (field == "spec.nodeName") content = GetString(pod, {"spec", "nodeName"});
    else if (field == "spec.serviceAccountName") content = GetString(pod, {"spec", "serviceAccountName"});
    else if (field.rfind("metadata.labels['", 0) == 0 && field.size() > 19) {
      content = GetString(pod, {"metadata", "labels", field.substr(17, field.size() - 19)});
    } else if (field.rfind("metadata.annotations['", 0) == 0 && field.size() > 24) {
      content = GetString(pod, {"metadata", "annotations", field.substr(22, field.size() - 24)});
    } else if (Find(item, {"resourceFieldRef"}) != nullptr) {
      content = "0";
    }
    files.push_back({*path, content, GetInt(item, {"mode"}, mode)});
  }
  return files;
}

std::string Kubelet::PrepareVolumes(const json::value& pod) {
  const std::string uid = MetaString(pod, "uid");
  const std::string ns = MetaString(pod, "namespace");
  if (!IsSafePathComponent(uid)) return "pod has no usable uid";
  const fs::path volumes = PodDir(uid) / "volumes";
  std::error_code ec;
  std::map<std::string, fs::path> volume_dirs;  // volume name -> its directory
  for (const json::value& vol : GetArray(pod, {"spec", "volumes"})) {
    const std::string vname = GetString(vol, {"name"});
    if (!IsSafePathComponent(vname) || !vol.is_object()) continue;
    std::string source;
    for (const auto& kv : vol.as_object()) {
      if (kv.key() != "name") source = std::string(kv.key());
    }
    if (source.empty()) source = "emptyDir";
    if (source == "persistentVolumeClaim") {
      const std::string claim = GetString(vol, {"persistentVolumeClaim", "claimName"});
      ObjectPtr pvc = claim.empty() ? nullptr : w_.store().Get("persistentvolumeclaims", ns, claim);
      if (pvc == nullptr) return "persistentvolumeclaim \"" + claim + "\" not found";
      const std::string pv = GetString(pvc->object, {"spec", "volumeName"});
      if (pv.empty() || IsDeleting(pvc->object)) {
        return "pod has unbound immediate PersistentVolumeClaims (claim \"" + claim + "\")";
      }
      if (!IsSafePathComponent(pv)) return "persistentvolume name \"" + pv + "\" is not usable";
      if (data_dir_.empty()) continue;
      const fs::path target = data_dir_ / "volumes" / pv;
      const fs::path dir = volumes / "kubernetes.io~csi" / pv;
      fs::create_directories(target, ec);
      fs::create_directories(dir, ec);
      const fs::path link = dir / "mount";
      if (!fs::is_symlink(fs::symlink_status(link, ec))) {
        fs::remove_all(link, ec);
        fs::create_directory_symlink(target, link, ec);
        if (ec) return "mounting volume \"" + vname + "\": " + ec.message();
      }
      volume_dirs[vname] = target;
      continue;
    }
    std::vector<VolumeFile> files;
    std::string why;
    if (source == "configMap" || source == "secret") {
      auto f = SourceFiles(ns, *Find(vol, {source}), source == "secret", 0644, why);
      if (!f) return "MountVolume.SetUp failed for volume \"" + vname + "\": " + why;
      files = std::move(*f);
    } else if (source == "downwardAPI") {
      files = DownwardFiles(pod, *Find(vol, {source}), 0644);
    } else if (source == "projected") {
      const int64_t mode = GetInt(vol, {"projected", "defaultMode"}, 0644);
      for (const json::value& src : GetArray(vol, {"projected", "sources"})) {
        if (const json::value* cm = Find(src, {"configMap"})) {
          auto f = SourceFiles(ns, *cm, false, mode, why);
          if (!f) return "MountVolume.SetUp failed for volume \"" + vname + "\": " + why;
          files.insert(files.end(), f->begin(), f->end());
        } else if (const json::value* s = Find(src, {"secret"})) {
          auto f = SourceFiles(ns, *s, true, mode, why);
          if (!f) return "MountVolume.SetUp failed for volume \"" + vname + "\": " + why;
          files.insert(files.end(), f->begin(), f->end());
        } else if (const json::value* d = Find(src, {"downwardAPI"})) {
          auto f = DownwardFiles(pod, *d, mode);
          files.insert(files.end(), f.begin(), f.end());
        } else if (const json::value* t = Find(src, {"serviceAccountToken"})) {
          if (auto path = SafeRelative(GetString(*t, {"path"}, "token"))) {
            files.push_back({*path, "kubesim-token-" + Hex64(uid).substr(0, 32), mode});
          }
        }
      }
    }
    if (data_dir_.empty()) continue;
    const fs::path dir = volumes / ("kubernetes.io~" + PluginName(source)) / vname;
    fs::create_directories(dir, ec);
    if (ec) return "creating volume \"" + vname + "\": " + ec.message();
    volume_dirs[vname] = dir;
    for (const VolumeFile& f : files) {
      const fs::path p = dir / f.path;
      fs::create_directories(p.parent_path(), ec);
      std::ofstream out(p, std::ios::binary | std::ios::trunc);
      out << f.content;
      out.close();
      fs::permissions(p, static_cast<fs::perms>(f.mode & 0777), ec);
    }
  }
  if (data_dir_.empty()) return "";
  return LinkMounts(pod, volume_dirs);
}

// "/var/lib/data" -> "var/lib/data"; nullopt for ".." components, NUL bytes or no component.
std::optional<fs::path> MountRelative(const std::string& mount_path) {
  fs::path out;
  size_t start = 0;
  while (start <= mount_path.size()) {
    size_t end = mount_path.find('/', start);
    if (end == std::string::npos) end = mount_path.size();
    std::string part = mount_path.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (!IsSafePathComponent(part)) return std::nullopt;
    out /= part;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string Kubelet::LinkMounts(const json::value& pod, const std::map<std::string, fs::path>& volume_dirs) {
  const fs::path containers = PodDir(MetaString(pod, "uid")) / "containers";
  std::error_code ec;
  for (const char* list : {"initContainers", "containers"}) {
    for (const json::value& c : GetArray(pod, {"spec", list})) {
      const std::string cname = GetString(c, {"name"});
      if (!IsSafePathComponent(cname)) continue;
      const fs::path root = containers / cname;
      fs::create_directories(root, ec);
      if (ec) return "creating the root of container \"" + cname + "\": " + ec.message();
      // Shorter paths first, so that a mount below another one is recognised and skipped.
      std::vector<std::pair<fs::path, const json::value*>> mounts;
      for (const json::value& m : GetArray(c, {"volumeMounts"})) {
        const std::string mount_path = GetString(m, {"mountPath"});
        auto rel = MountRelative(mount_path);
        if (!rel) {
          return "volumeMount \"" + GetString(m, {"name"}) + "\" of container \"" + cname + "\": mountPath \"" +
                 mount_path + "\" is not a usable path (it must not be \"/\" nor contain \"..\")";
        }
        mounts.emplace_back(*rel, &m);
      }
      std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) {
        return std::distance(a.first.begin(), a.first.end()) < std::distance(b.first.begin(), b.first.end());
      });
      for (const auto& [rel, m] : mounts) {
        auto vol = volume_dirs.find(GetString(*m, {"name"}));
        if (vol == volume_dirs.end()) continue;  // not a volume of the pod (or not laid out)
        fs::path target = vol->second;
        const std::string sub = GetString(*m, {"subPath"});
        if (!sub.empty()) {
          auto sub_rel = SafeRelative(sub);
          if (!sub_rel) {
            return "volumeMount \"" + GetString(*m, {"name"}) + "\" of container \"" + cname + "\": subPath \"" +
                   sub + "\" is not a usable relative path";
          }
          target /= *sub_rel;
          fs::create_directories(target, ec);
        }
        // Refuse to go through a link made for another mount (it would write into that volume).
        fs::path at = root;
        bool nested = false;
        for (auto it = rel.begin(); it != rel.end(); ++it) {
          if (std::next(it) == rel.end()) break;
          at /= *it;
          if (fs::is_symlink(fs::symlink_status(at, ec))) {
            nested = true;
            break;
          }
        }
        if (nested) {
          LB_LOG_DEBUG("kubesim: kubelet: not linking mount {} of container {}: below another mount",
                       rel.string(), cname);
          continue;
        }
        const fs::path link = root / rel;
        fs::create_directories(link.parent_path(), ec);
        if (fs::is_symlink(fs::symlink_status(link, ec))) {
          if (fs::read_symlink(link, ec) == target) continue;
          fs::remove(link, ec);
        } else if (fs::exists(fs::symlink_status(link, ec))) {
          fs::remove_all(link, ec);  // a directory left from an earlier layout
        }
        fs::create_directory_symlink(target, link, ec);
        if (ec) return "linking volumeMount \"" + GetString(*m, {"name"}) + "\" of container \"" + cname + "\": " + ec.message();
      }
    }
  }
  return "";
}

std::string Kubelet::PodIp(const json::value& pod, int node_index) {
  if (std::string ip = GetString(pod, {"status", "podIP"}); !ip.empty()) return ip;
  const std::string node = GetString(pod, {"spec", "nodeName"});
  std::set<std::string> used;
  w_.store().List("pods", "", true, "", 0, [&](const StoredObject& p) {
    if (GetString(p.object, {"spec", "nodeName"}) == node) used.insert(GetString(p.object, {"status", "podIP"}));
    return false;
  });
  const std::string prefix = "10.244." + std::to_string(node_index) + ".";
  for (int n = 2; n < 255; ++n) {
    if (!used.contains(prefix + std::to_string(n))) return prefix + std::to_string(n);
  }
  return prefix + "254";
}

json::object Kubelet::RunningStatus(const json::value& pod, int node_index) {
  const std::string now = Now();
  const std::string uid = MetaString(pod, "uid");
  const std::string start = GetString(pod, {"status", "startTime"}, now);
  const std::string host_ip = "10.0.0." + std::to_string(node_index);
  const std::string pod_ip = GetBool(pod, {"spec", "hostNetwork"}, false) ? host_ip : PodIp(pod, node_index);
  json::array conds = GetArray(pod, {"status", "conditions"});
  auto cond = [&](const char* type) {
    SetCondition(conds, json::object{{"type", type}, {"status", "True"}, {"lastProbeTime", nullptr},
                                     {"lastTransitionTime", now}});
  };
  cond("PodReadyToStartContainers");
  cond("Initialized");
  cond("Ready");
  cond("ContainersReady");
  cond("PodScheduled");
  bool has_resources = false;
  auto container_status = [&](const json::value& c, bool init) {
    const std::string cname = GetString(c, {"name"});
    const std::string image = GetString(c, {"image"});
    if (Find(c, {"resources", "requests"}) != nullptr || Find(c, {"resources", "limits"}) != nullptr) {
      has_resources = true;
    }
    std::string repo = image.find('/') == std::string::npos ? "docker.io/library/" + image : image;
    if (auto at = repo.find('@'); at != std::string::npos) repo.resize(at);
    if (auto colon = repo.rfind(':'); colon != std::string::npos && colon > repo.rfind('/')) repo.resize(colon);
    json::object s{{"name", cname},
                   {"image", image},
                   {"imageID", repo + "@sha256:" + Hex64(image)},
                   {"containerID", "kubesim://" + Hex64(uid + "/" + cname)},
                   {"restartCount", 0},
                   {"lastState", json::object()}};
    if (init) {
      s["ready"] = true;
      s["started"] = false;
      s["state"] = json::object{{"terminated", json::object{{"exitCode", 0},
                                                            {"reason", "Completed"},
                                                            {"startedAt", start},
                                                            {"finishedAt", start},
                                                            {"containerID", s["containerID"]}}}};
    } else {
      s["ready"] = true;
      s["started"] = true;
      s["state"] = json::object{{"running", json::object{{"startedAt", start}}}};
    }
    return s;
  };
  json::array statuses, init_statuses;
  for (const json::value& c : GetArray(pod, {"spec", "containers"})) statuses.push_back(container_status(c, false));
  for (const json::value& c : GetArray(pod, {"spec", "initContainers"})) init_statuses.push_back(container_status(c, true));
  json::object status{{"phase", "Running"},
                      {"conditions", std::move(conds)},
                      {"hostIP", host_ip},
                      {"hostIPs", json::array{json::object{{"ip", host_ip}}}},
                      {"podIP", pod_ip},
                      {"podIPs", json::array{json::object{{"ip", pod_ip}}}},
                      {"startTime", start},
                      {"containerStatuses", std::move(statuses)},
                      {"qosClass", has_resources ? "Burstable" : "BestEffort"}};
  if (!init_statuses.empty()) status["initContainerStatuses"] = std::move(init_statuses);
  return status;
}

void Kubelet::WriteLogs(const json::value& pod, const std::string& verb) {
  const std::string uid = MetaString(pod, "uid");
  if (data_dir_.empty() || !IsSafePathComponent(uid)) return;
  std::error_code ec;
  const fs::path logs = PodDir(uid) / "logs";
  fs::create_directories(logs, ec);
  if (ec) return;
  auto write = [&](const json::value& c) {
    const std::string cname = GetString(c, {"name"});
    if (!IsSafePathComponent(cname)) return;
    std::ofstream out(logs / (cname + ".log"), std::ios::app);
    out << Now() << " kubesim: container " << cname << " " << verb << "\n";
  };
  if (verb == "started") {
    for (const json::value& c : GetArray(pod, {"spec", "initContainers"})) write(c);
  }
  for (const json::value& c : GetArray(pod, {"spec", "containers"})) write(c);
}

void Kubelet::SetWaiting(const ResourceType& pods, const Key& key, const std::string& why) {
  Status s = w_.Update(pods, key.ns, key.name, [&](json::value& pod) {
    if (!Ours(pod) || PodPhase(pod) == "Running" || PodPhase(pod) == "Succeeded" || PodPhase(pod) == "Failed") {
      return false;
    }
    const std::string now = Now();
    const int idx = NodeIndex(GetString(pod, {"spec", "nodeName"}), nodes_);
    json::array conds = GetArray(pod, {"status", "conditions"});
    auto cond = [&](const char* type, const char* st, const char* reason, const std::string& msg) {
      json::object c{{"type", type}, {"status", st}, {"lastProbeTime", nullptr}, {"lastTransitionTime", now}};
      if (reason != nullptr) {
        c["reason"] = reason;
        c["message"] = msg;
      }
      SetCondition(conds, std::move(c));
    };
    cond("PodReadyToStartContainers", "False", nullptr, "");
    cond("Initialized", "True", nullptr, "");
    std::string names;
    json::array statuses;
    for (const json::value& c : GetArray(pod, {"spec", "containers"})) {
      const std::string cname = GetString(c, {"name"});
      names += (names.empty() ? "" : " ") + cname;
      statuses.push_back(json::object{{"name", cname},
                                      {"image", GetString(c, {"image"})},
                                      {"imageID", ""},
                                      {"ready", false},
                                      {"started", false},
                                      {"restartCount", 0},
                                      {"lastState", json::object()},
                                      {"state", json::object{{"waiting", json::object{{"reason", "ContainerCreating"}}}}}});
    }
    cond("Ready", "False", "ContainersNotReady", "containers with unready status: [" + names + "]");
    cond("ContainersReady", "False", "ContainersNotReady", "containers with unready status: [" + names + "]");
    cond("PodScheduled", "True", nullptr, "");
    json::object status{{"phase", "Pending"},
                        {"conditions", std::move(conds)},
                        {"hostIP", "10.0.0." + std::to_string(idx)},
                        {"hostIPs", json::array{json::object{{"ip", "10.0.0." + std::to_string(idx)}}}},
                        {"startTime", GetString(pod, {"status", "startTime"}, now)},
                        {"containerStatuses", std::move(statuses)},
                        {"message", why},
                        {"reason", "ContainerCreating"}};
    if (const json::value* qos = Find(pod, {"status", "qosClass"})) status["qosClass"] = *qos;
    const json::value* old = Find(pod, {"status"});
    if (old != nullptr && old->is_object() && GetString(*old, {"message"}) == why && PodPhase(pod) == "Pending" &&
        Find(*old, {"containerStatuses"}) != nullptr) {
      return false;
    }
    pod.as_object()["status"] = std::move(status);
    return true;
  }, "status");
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    LB_LOG_DEBUG("kubesim: kubelet: pod {}/{} waiting: {}", key.ns, key.name, s.ToString());
  }
}

// A Job's pod ran to completion: every container exited 0.
void Kubelet::Complete(const ResourceType& pods, const Key& key) {
  Status s = w_.Update(pods, key.ns, key.name, [&](json::value& pod) {
    if (PodPhase(pod) != "Running") return false;
    const std::string now = Now();
    json::array conds = GetArray(pod, {"status", "conditions"});
    for (const char* type : {"Ready", "ContainersReady"}) {
      SetCondition(conds, json::object{{"type", type}, {"status", "False"}, {"lastProbeTime", nullptr},
                                       {"lastTransitionTime", now}, {"reason", "PodCompleted"}});
    }
    SetCondition(conds, json::object{{"type", "PodReadyToStartContainers"}, {"status", "False"},
                                     {"lastProbeTime", nullptr}, {"lastTransitionTime", now}});
    json::array statuses;
    for (const json::value& c : GetArray(pod, {"status", "containerStatuses"})) {
      json::value cs = c;
      if (!cs.is_object()) continue;
      json::object& o = cs.as_object();
      const std::string started = GetString(c, {"state", "running", "startedAt"}, now);
      o["ready"] = false;
      o["started"] = false;
      o["state"] = json::object{{"terminated", json::object{{"exitCode", 0},
                                                            {"reason", "Completed"},
                                                            {"startedAt", started},
                                                            {"finishedAt", now},
                                                            {"containerID", GetString(c, {"containerID"})}}}};
      statuses.push_back(std::move(cs));
    }
    json::object& status = Child(pod.as_object(), "status");
    status["phase"] = "Succeeded";
    status["conditions"] = std::move(conds);
    status["containerStatuses"] = std::move(statuses);
    return true;
  }, "status");
  if (!s.ok() && s.code() != absl::StatusCode::kNotFound) {
    LB_LOG_DEBUG("kubesim: kubelet: completing pod {}/{}: {}", key.ns, key.name, s.ToString());
  }
}

void Kubelet::Reconcile(const Key& key) {
  ObjectPtr pod = w_.store().Get("pods", key.ns, key.name);
  const ResourceType* pods = w_.Type("", "pods");
  if (pod == nullptr || pods == nullptr || !Ours(pod->object) || IsDeleting(pod->object)) return;
  const json::value& obj = pod->object;
  const std::string phase = PodPhase(obj);
  if (phase == "Succeeded" || phase == "Failed") return;
  auto owner = ControllerOf(obj);
  const bool runs_to_completion = owner.has_value() && owner->kind == "Job";
  if (phase == "Running" && !GetString(obj, {"status", "podIP"}).empty()) {
    // A pod started by an older kubesim has no container roots yet.
    std::error_code ec;
    if (!data_dir_.empty() && IsSafePathComponent(MetaString(obj, "uid")) &&
        !fs::exists(PodDir(MetaString(obj, "uid")) / "containers", ec)) {
      PrepareVolumes(obj);
    }
    if (runs_to_completion) {
      WriteLogs(obj, "completed");
      Complete(*pods, key);
    }
    return;
  }
  const std::string why = PrepareVolumes(obj);
  if (!why.empty()) {
    SetWaiting(*pods, key, why);
    return;
  }
  const int idx = NodeIndex(GetString(obj, {"spec", "nodeName"}), nodes_);
  const std::string uid = MetaString(obj, "uid");
  // The container's log starts before its status says Running, as a real kubelet's does, so a
  // client that sees the pod Ready can read its log.
  if (PodPhase(obj) != "Running") WriteLogs(obj, "started");
  bool started = false;
  Status s = w_.Update(*pods, key.ns, key.name, [&](json::value& p) {
    if (MetaString(p, "uid") != uid || IsDeleting(p)) return false;
    const std::string ph = PodPhase(p);
    if (ph == "Succeeded" || ph == "Failed" || (ph == "Running" && !GetString(p, {"status", "podIP"}).empty())) {
      return false;
    }
    p.as_object()["status"] = RunningStatus(p, idx);
    started = true;
    return true;
  }, "status");
  if (!s.ok()) {
    if (s.code() != absl::StatusCode::kNotFound) {
      LB_LOG_DEBUG("kubesim: kubelet: starting pod {}/{}: {}", key.ns, key.name, s.ToString());
    }
    return;
  }
  if (!started) return;
  if (PodPhase(obj) == "Running") WriteLogs(obj, "started");  // restarted without a podIP
  if (runs_to_completion) {
    WriteLogs(obj, "completed");
    Complete(*pods, key);
  }
}

}  // namespace

std::unique_ptr<Controller> NewKubelet(const ControllerContext& ctx) {
  return std::make_unique<Kubelet>(ctx);
}

}  // namespace kubesim::workloads
