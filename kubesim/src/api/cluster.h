#pragma once

// The API semantics of kubesim: what kube-apiserver's registry layer does between the HTTP
// handler and etcd. Verbs on objects with Kubernetes' rules: server-set metadata, defaulting,
// validation, optimistic concurrency, status subresources, generation, finalizers and
// graceful deletion, dry runs, version conversion, CRD lifecycle and namespace lifecycle.
//
// The HTTP handler calls it after authentication; kubesim's built-in controllers call it
// directly (as the controller manager would through the API), so their writes follow the same
// rules and produce the same watch events.
//
// Errors are absl::Status values built by api_status.h (code, reason and message as
// kube-apiserver gives them). Thread safety: all methods may be called concurrently.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "kubesim/src/api/api_status.h"
#include "kubesim/src/api/registry.h"
#include "kubesim/src/store/store.h"

namespace kubesim {

struct WriteOptions {
  bool dry_run = false;
  std::string field_manager;  // "" -> derived from the user agent by the handler, else "kubesim"
  std::string user;           // who is writing (for managedFields/audit only)
  // fieldValidation: "Strict" fails a write whose custom resource has fields its CRD's schema
  // does not declare (400 BadRequest, as kube-apiserver's strict decoding); "Warn" and "" drop
  // them and add `unknown field "spec.x"` to `warnings` (sent as Warning headers); "Ignore"
  // drops them silently.
  std::string field_validation;
  std::shared_ptr<std::vector<std::string>> warnings;  // may be null
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int64_t limit = 0;
  std::string continue_token;
  std::string resource_version;        // "" = most recent, "0" = any
  std::string resource_version_match;  // "", "NotOlderThan", "Exact"
};

struct ListResult {
  // Objects as stored (in the storage version: use ItemInVersion for the requested one).
  std::vector<ObjectPtr> items;
  ResourceType requested;  // the type (and version) the list was asked for
  std::string resource_version;
  std::string continue_token;
  std::optional<int64_t> remaining_item_count;
};

struct DeleteOptions {
  bool dry_run = false;
  std::string propagation_policy;  // "", "Background", "Foreground", "Orphan"
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_resource_version;
  std::optional<int64_t> grace_period_seconds;
};

// `item` in the version of `requested` (no copy needed when that is the storage version: then
// item->json can be sent as is).
StatusOr<boost::json::value> ItemInVersion(const ResourceType& requested, const StoredObject& item);
bool NeedsConversion(const ResourceType& requested, const StoredObject& item);

enum class PatchType { kJson, kMerge, kStrategic, kApply };

struct PatchOptions {
  WriteOptions write;
  bool force = false;  // server-side apply: take ownership of conflicting fields
};

// One event of a watch, in the watched version.
struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  boost::json::value object;
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // "" or "0": start with ADDED events for the current state
  bool allow_bookmarks = false;
  bool send_initial_events = false;
};

class Watch {
 public:
  virtual ~Watch() = default;
  // Waits up to `timeout` for events; returns what arrived (possibly none). A final ERROR
  // event (410 when the watch fell behind the event window) ends the watch: done() is then true.
  virtual std::vector<WatchEvent> Next(std::chrono::milliseconds timeout) = 0;
  virtual bool done() const = 0;
};

class Cluster {
 public:
  struct Options {
    std::string service_cidr = "10.96.0.0/12";
    int node_port_min = 30000;
    int node_port_max = 32767;
  };

  Cluster(Store* store, Registry* registry, Options options);
  ~Cluster();

  Store& store() { return *store_; }
  Registry& registry() { return *registry_; }

  // Creates the namespaces every cluster has (default, kube-system, kube-public,
  // kube-node-lease) if missing. Idempotent.
  Status Bootstrap();

  StatusOr<boost::json::value> Get(const ResourceType& type, const std::string& ns,
                                   const std::string& name);
  StatusOr<ListResult> List(const ResourceType& type, const std::string& ns,
                            const ListOptions& options);
  StatusOr<boost::json::value> Create(const ResourceType& type, const std::string& ns,
                                      boost::json::value object, const WriteOptions& options,
                                      const std::string& subresource = "");
  // Replaces the object (or its `subresource`: "status", "scale", "finalize").
  StatusOr<boost::json::value> Update(const ResourceType& type, const std::string& ns,
                                      const std::string& name, boost::json::value object,
                                      const WriteOptions& options,
                                      const std::string& subresource = "");
  StatusOr<boost::json::value> Patch(const ResourceType& type, const std::string& ns,
                                     const std::string& name, PatchType patch_type,
                                     const boost::json::value& patch, const PatchOptions& options,
                                     const std::string& subresource = "");
  // Returns the deleted object (or, when deletion is deferred by finalizers, the object with
  // its deletionTimestamp set) — what kube-apiserver returns.
  StatusOr<boost::json::value> Delete(const ResourceType& type, const std::string& ns,
                                      const std::string& name, const DeleteOptions& options);
  // Deletes every object matching `list` in `ns` ("" and cluster scope: all).
  StatusOr<ListResult> DeleteCollection(const ResourceType& type, const std::string& ns,
                                        const ListOptions& list, const DeleteOptions& options);

  // GET of a subresource: "scale" (autoscaling/v1 Scale), "status" (the object).
  StatusOr<boost::json::value> GetSubresource(const ResourceType& type, const std::string& ns,
                                              const std::string& name, const std::string& subresource);

  StatusOr<std::unique_ptr<Watch>> StartWatch(const ResourceType& type, const std::string& ns,
                                              const WatchOptions& options);

 private:
  friend struct Hooks;
  struct Impl;
  StatusOr<ObjectPtr> GuaranteedUpdate(
      const ResourceType& type, const std::string& ns, const std::string& name,
      const std::function<StatusOr<Mutation>(const StoredObject& current)>& fn, bool dry_run);
  StatusOr<Mutation> PrepareUpdate(const ResourceType& type, const StoredObject& current,
                                   boost::json::value obj, const std::string& subresource,
                                   const WriteOptions& options);
  StatusOr<boost::json::value> BindPod(const std::string& ns, const boost::json::value& binding,
                                       const WriteOptions& options);
  StatusOr<boost::json::value> GetScale(const ResourceType& type, const std::string& ns,
                                        const std::string& name);
  StatusOr<boost::json::value> UpdateScale(const ResourceType& type, const std::string& ns,
                                           const std::string& name, boost::json::value scale,
                                           const WriteOptions& options);
  static Status PatchError(const Status& s);
  void RemoveCrdInstances(const boost::json::value& crd);

  Store* store_;
  Registry* registry_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubesim
