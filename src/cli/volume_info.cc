#include "src/cli/volume_info.h"

#include <algorithm>
#include <map>
#include <vector>

#include "src/cli/output.h"

namespace lifeboat::cli {
namespace json = boost::json;

namespace {

std::string Str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_double()) return json::serialize(*v);
  if (v->is_bool()) return v->as_bool() ? "true" : "false";
  return "";
}

bool Bool(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

const json::object* Obj(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

std::string Or(const std::string& s, const std::string& fallback) {
  return s.empty() ? fallback : s;
}

// "ns/pvc", or the PV name for a volume without a claim.
std::string VolumeName(const json::object& i) {
  const std::string pvc = Str(i, "pvcName");
  if (!pvc.empty()) return Str(i, "pvcNamespace") + "/" + pvc;
  return Or(Str(i, "pvName"), "<unnamed volume>");
}

// Velero's tab-aligned "Key:\tvalue" lines of one block, as its tabwriter renders them.
std::string Aligned(const std::string& indent,
                    const std::vector<std::pair<std::string, std::string>>& lines) {
  size_t width = 0;
  for (const auto& [k, v] : lines) width = std::max(width, k.size() + 1);
  std::string o;
  for (const auto& [k, v] : lines) {
    o += indent + k + ":" + std::string(width - k.size() - 1 + 2, ' ') + v + "\n";
  }
  return o;
}

}  // namespace

std::string FormatBackupVolumes(const json::value* infos, bool details) {
  std::vector<const json::object*> native, csi, pvb, skipped;
  if (infos != nullptr && infos->is_array()) {
    for (const auto& e : infos->as_array()) {
      if (!e.is_object()) continue;
      const json::object& i = e.as_object();
      const std::string method = Str(i, "backupMethod");
      if (Bool(i, "skipped")) {
        skipped.push_back(&i);
      } else if (method == "NativeSnapshot") {
        native.push_back(&i);
      } else if (method == "CSISnapshot") {
        csi.push_back(&i);
      } else if (method == "PodVolumeBackup") {
        pvb.push_back(&i);
      }
    }
  }
  std::string o = "Backup Volumes:\n";
  const std::string more = "specify --details for more information";

  if (native.empty()) {
    o += "  Velero-Native Snapshots: <none included>\n";
  } else {
    o += "  Velero-Native Snapshots:\n";
    for (const auto* i : native) {
      const std::string pv = Or(Str(*i, "pvName"), VolumeName(*i));
      if (!details) {
        o += "    " + pv + ": " + more + "\n";
        continue;
      }
      const json::object* n = Obj(*i, "nativeSnapshotInfo");
      const json::object empty;
      const json::object& ni = n ? *n : empty;
      o += "    " + pv + ":\n";
      o += Aligned("      ", {{"Snapshot ID", Or(Str(ni, "snapshotHandle"), "<none>")},
                              {"Type", Or(Str(ni, "volumeType"), "<none>")},
                              {"Availability Zone", Or(Str(ni, "volumeAZ"), "<none>")},
                              {"IOPS", Or(Str(ni, "iops"), "<N/A>")},
                              {"Result", Or(Str(*i, "result"), "<unknown>")}});
    }
  }
  o += "\n";

  if (csi.empty()) {
    o += "  CSI Snapshots: <none included>\n";
  } else {
    o += "  CSI Snapshots:\n";
    for (const auto* i : csi) {
      o += "    " + VolumeName(*i) + ":\n";
      const bool moved = Bool(*i, "snapshotDataMoved");
      const json::object empty;
      const json::object* c = Obj(*i, "csiSnapshotInfo");
      const json::object& ci = c ? *c : empty;
      if (!moved || Bool(*i, "preserveLocalSnapshot")) {
        if (!details) {
          o += "      Snapshot: included, " + more + "\n";
        } else {
          o += "      Snapshot:\n";
          std::vector<std::pair<std::string, std::string>> lines;
          if (!moved && !Str(ci, "operationID").empty()) {
            lines.push_back({"Operation ID", Str(ci, "operationID")});
          }
          lines.push_back({"Snapshot Content Name", Or(Str(ci, "vscName"), "<none>")});
          lines.push_back({"Storage Snapshot ID", Or(Str(ci, "snapshotHandle"), "<none>")});
          lines.push_back({"Snapshot Size (bytes)", Or(Str(ci, "size"), "0")});
          lines.push_back({"CSI Driver", Or(Str(ci, "driver"), "<none>")});
          lines.push_back({"Result", Or(Str(*i, "result"), "<unknown>")});
          o += Aligned("        ", lines);
        }
      }
      if (moved) {
        if (!details) {
          o += "      Data Movement: included, " + more + "\n";
        } else {
          const json::object* d = Obj(*i, "snapshotDataMovementInfo");
          const json::object& di = d ? *d : empty;
          o += "      Data Movement:\n";
          o += Aligned("        ", {{"Operation ID", Or(Str(di, "operationID"), "<none>")},
                                    {"Data Mover", Or(Str(di, "dataMover"), "velero")},
                                    {"Uploader Type", Or(Str(di, "uploaderType"), "<none>")},
                                    {"Moved data Size (bytes)", Or(Str(di, "size"), "0")},
                                    {"Result", Or(Str(*i, "result"), "<unknown>")}});
        }
      }
    }
  }
  o += "\n";

  if (pvb.empty()) {
    o += "  Pod Volume Backups: <none included>\n";
  } else {
    // Grouped by uploader and phase, volumes listed per pod, as Velero does.
    std::map<std::string, std::map<std::string, std::map<std::string, std::vector<std::string>>>>
        groups;  // uploader -> phase -> ns/pod -> volumes
    for (const auto* i : pvb) {
      const json::object empty;
      const json::object* p = Obj(*i, "pvbInfo");
      const json::object& pi = p ? *p : empty;
      std::string phase = Str(pi, "Phase");
      if (phase.empty()) phase = Str(*i, "result") == "failed" ? "Failed" : "Completed";
      groups[Or(Str(pi, "uploaderType"), "kopia")][phase]
            [Str(pi, "podNamespace") + "/" + Str(pi, "podName")]
                .push_back(Or(Str(pi, "volumeName"), VolumeName(*i)));
    }
    for (const auto& [uploader, phases] : groups) {
      o += "  Pod Volume Backups - " + uploader + (details ? "" : " (" + more + ")") + ":\n";
      for (const auto& [phase, pods] : phases) {
        if (details) {
          o += "    " + phase + ":\n";
          for (const auto& [pod, volumes] : pods)
            o += "      " + pod + ": " + JoinOr(volumes, "") + "\n";
        } else {
          size_t n = 0;
          for (const auto& [pod, volumes] : pods) n += volumes.size();
          o += "    " + phase + ":  " + std::to_string(n) + "\n";
        }
      }
    }
  }

  if (!skipped.empty()) {
    o += "\n";
    if (!details) {
      o += "  Skipped Volumes:  " + std::to_string(skipped.size()) + " (" + more + ")\n";
    } else {
      o += "  Skipped Volumes:\n";
      for (const auto* i : skipped) {
        std::string reason = Str(*i, "skippedReason");
        while (!reason.empty() && (reason.back() == ';' || reason.back() == ' ')) reason.pop_back();
        std::string name = VolumeName(*i);
        const std::string pv = Str(*i, "pvName");
        if (!pv.empty() && name != pv) name += " (" + pv + ")";
        o += "    " + name + ": " + Or(reason, "no reason recorded") + "\n";
      }
    }
  }
  return o;
}

}  // namespace lifeboat::cli
