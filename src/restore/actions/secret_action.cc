#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lifeboat/common/json.h"
#include "src/restore/actions/actions.h"

namespace lifeboat::restore {

namespace json = boost::json;
using namespace actions_internal;

namespace {

// Removes `key` from the map at o[map]; a map left empty goes too (Velero's typed round trip).
void EraseFromMap(json::object* o, std::string_view map, std::string_view key) {
  json::object* m = ObjectAt(o, map);
  if (m == nullptr) return;
  m->erase(key);
  if (m->empty()) o->erase(map);
}

}  // namespace

plugin::ResourceSelector SecretAction::AppliesTo() const { return Resources({"secrets"}); }

StatusOr<plugin::RestoreItemActionOutput> SecretAction::Execute(
    plugin::RestoreItemActionInput input) {
  LIFEBOAT_ASSIGN_OR_RETURN(json::object * secret, ItemObject(input.item, Name()));
  if (StringAt(secret, "type") != "kubernetes.io/service-account-token") {
    return Unchanged(std::move(input.item));
  }
  if (client_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(Name(), ": a service-account token secret needs a cluster client"));
  }
  json::object* metadata = ObjectAt(secret, "metadata");
  const std::string name = StringAt(metadata, "name");
  const std::string original_ns = StringAt(metadata, "namespace");
  // The accounts that matter are those of the namespace the secret is restored into (Velero
  // asks the original one, which is the same without a namespace mapping).
  const std::string ns =
      input.context != nullptr ? input.context->MapNamespace(original_ns) : original_ns;
  auto accounts = client_->List({"", "v1", "serviceaccounts"}, ns);
  if (!accounts.ok()) {
    return Annotate(accounts.status(),
                    absl::StrCat(Name(), ": listing the service accounts of ", ns));
  }
  for (const json::value& sa : accounts->items) {
    const std::string sa_name = JsonString(sa, {"metadata", "name"}).value_or("");
    if (!sa_name.empty() && absl::StartsWith(name, sa_name + "-token-")) {
      // The token controller made it and makes it again; restoring it would race the controller.
      plugin::RestoreItemActionOutput out = Unchanged(std::move(input.item));
      out.skip_restore = true;
      return out;
    }
  }
  // A token secret made by hand: the controller fills these in for the new account.
  EraseFromMap(metadata, "annotations", "kubernetes.io/service-account.uid");
  EraseFromMap(secret, "data", "token");
  EraseFromMap(secret, "data", "ca.crt");
  return Unchanged(std::move(input.item));
}

}  // namespace lifeboat::restore
