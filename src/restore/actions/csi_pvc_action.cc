// velero.io/csi-pvc-restorer: a claim backed up with a CSI snapshot is provisioned from the
// restored VolumeSnapshot (actions.h).

#include <openssl/evp.h>

#include <array>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "lifeboat/common/json.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

constexpr char kVolumeSnapshotName[] = "velero.io/volume-snapshot-name";
constexpr char kSnapshotGroup[] = "snapshot.storage.k8s.io";

}  // namespace

std::string CsiRestoreName(std::string_view restore_uid, std::string_view vs_name) {
  const std::string input = std::string(restore_uid) + "/" + std::string(vs_name);
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    char b[3];
    std::snprintf(b, sizeof(b), "%02x", md[i]);
    hex += b;
  }
  return hex;
}

plugin::ResourceSelector CsiPvcRestorerAction::AppliesTo() const {
  return Resources({"persistentvolumeclaims"});
}

StatusOr<plugin::RestoreItemActionOutput> CsiPvcRestorerAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * pvc, ItemObject(input.item, Name()));
  const json::value& backed_up =
      input.item_from_backup != nullptr ? *input.item_from_backup : input.item;
  const std::string vs_name =
      JsonString(backed_up, {"metadata", "annotations", kVolumeSnapshotName}).value_or("");
  if (vs_name.empty()) return Unchanged(std::move(input.item));  // not a CSI-snapshot claim

  if (client_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(Name(), ": a claim backed up with a CSI snapshot needs a cluster client"));
  }
  json::object* metadata = ObjectAt(pvc, "metadata");
  const std::string name = StringAt(metadata, "name");
  const std::string original_ns = StringAt(metadata, "namespace");
  const std::string target_ns =
      input.context != nullptr ? input.context->MapNamespace(original_ns) : original_ns;
  auto existing = client_->Get({"", "v1", "persistentvolumeclaims"}, target_ns, name);
  if (existing.ok()) return Unchanged(std::move(input.item));  // the existing-resource policy
  if (!absl::IsNotFound(existing.status())) {
    return Annotate(existing.status(),
                    absl::StrCat(Name(), ": checking whether claim ", target_ns, "/", name,
                                 " exists"));
  }

  json::value& spec_value = (*pvc)["spec"];
  if (!spec_value.is_object()) spec_value = json::object();
  json::object& spec = spec_value.as_object();
  const api::Restore* restore = input.context != nullptr ? input.context->restore : nullptr;
  plugin::RestoreItemActionOutput out;
  if (restore != nullptr && restore->spec.restore_pvs == false) {
    // The claim comes back without its data: a new, empty volume.
    spec.erase("volumeName");
    spec.erase("dataSource");
    spec.erase("dataSourceRef");
    out.item = std::move(input.item);
    return out;
  }
  const std::string restore_uid = input.context != nullptr ? input.context->restore_uid : "";
  const std::string new_vs = CsiRestoreName(restore_uid, vs_name);
  spec.erase("volumeName");
  json::object source{{"apiGroup", kSnapshotGroup}, {"kind", "VolumeSnapshot"}, {"name", new_vs}};
  spec["dataSource"] = source;
  spec["dataSourceRef"] = source;
  out.additional_items.push_back({kSnapshotGroup, "volumesnapshots", original_ns, vs_name});
  out.item = std::move(input.item);
  return out;
}

}  // namespace lifeboat::restore
