#pragma once

// The skeleton every workload controller shares: events map to keys of objects to reconcile,
// Resync reconciles every key, and a failure (or an exception from malformed JSON) in one
// reconcile is logged and never stops the controller. Writes go through Cluster with retries
// on conflicts, as client-go's RetryOnConflict does.
//
// Thread safety: a controller and its Writer are used by the controller's own thread only.

#include <compare>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/controllers/controller.h"
#include "kubesim/src/controllers/workloads/util.h"

namespace kubesim::workloads {

struct Key {
  std::string ns;
  std::string name;
  auto operator<=>(const Key&) const = default;
};

class Writer {
 public:
  // `manager` is the field manager and user the writes are recorded under
  // ("kube-controller-manager", "kube-scheduler", "kubelet").
  Writer(Cluster* cluster, std::string manager);

  Cluster& cluster() { return *cluster_; }
  Store& store() { return cluster_->store(); }
  // The storage type of group/resource, or nullptr if kubesim does not serve it.
  const ResourceType* Type(const std::string& group, const std::string& resource);

  StatusOr<json::value> Create(const ResourceType& type, const std::string& ns, json::value obj,
                               const std::string& subresource = "");
  // Deletes ns/name if its uid is still `uid` ("" = any). NotFound counts as success.
  Status Delete(const ResourceType& type, const std::string& ns, const std::string& name,
                const std::string& uid, const std::string& propagation = "Background");
  // Reads the current object, lets `mutate` change it (false: nothing to write) and writes it
  // (to `subresource` if given), re-reading on conflicts. NotFound if the object is gone.
  Status Update(const ResourceType& type, const std::string& ns, const std::string& name,
                const std::function<bool(json::value&)>& mutate,
                const std::string& subresource = "");

 private:
  WriteOptions Options() const;
  Cluster* cluster_;
  std::string manager_;
  std::map<std::string, ResourceType> types_;
};

class KeyedController : public Controller {
 public:
  void OnEvent(const StoreEvent& event) final;
  void Resync() override;

 protected:
  // Adds the keys of the objects `event` concerns.
  virtual void KeysFor(const StoreEvent& event, std::set<Key>& keys) = 0;
  virtual std::vector<Key> AllKeys() = 0;
  virtual void Reconcile(const Key& key) = 0;

 private:
  void SafeReconcile(const Key& key);
};

// Keys of every object of `gr` (all namespaces).
std::vector<Key> AllKeysOf(const Store& store, const std::string& gr);

// For an event on a dependent (pod, replica set...): the keys of its controller of `kind`, in
// the new and the previous state, and — for a dependent without controller — the owners of
// `owner_gr` in its namespace whose selector (as `selector_of` reads it) matches it, so they can
// adopt it.
void OwnerKeys(const Store& store, const StoreEvent& event, const std::string& kind,
               const std::string& owner_gr,
               const std::function<std::optional<Selector>(const json::value&)>& selector_of,
               std::set<Key>& keys);

// What k8s' ControllerRefManager does: returns the dependents of `gr` in the owner's namespace
// it controls, after adopting orphans that match `selector` (unless the owner is being deleted)
// and releasing controlled ones that no longer match.
std::vector<ObjectPtr> ClaimObjects(Writer& w, const ResourceType& type, const json::value& owner,
                                    const std::string& owner_api_version,
                                    const std::string& owner_kind, const Selector& selector);

}  // namespace kubesim::workloads
