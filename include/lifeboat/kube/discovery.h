#pragma once

// Discovery of the API server's groups, versions and resources (client-go's discovery client
// plus the parts of kubectl's RESTMapper that Lifeboat needs), from the legacy endpoints
// /api, /api/v1, /apis and /apis/<group>/<version>.
//
// The result is cached. Refresh() reloads it; a lookup that finds nothing reloads it too, at
// most once per `min_refresh_interval` (so CRDs that appear or disappear are seen without a
// refresh storm from callers asking for resources that do not exist).
//
// One group/version that fails (a 503 from an aggregated API whose backend is down) does not
// fail discovery: it is left out and reported by failures(). Failures of /api or /apis do.
//
// Thread safety: all methods may be called from any thread. The RestClient must outlive it.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/clock.h"
#include "lifeboat/common/status.h"
#include "lifeboat/kube/rest_client.h"

namespace lifeboat::kube {

// A resource of one group/version: {"apps", "v1", "deployments"}; the core group is "".
struct GroupVersionResource {
  std::string group;
  std::string version;
  std::string resource;

  // "apps/v1" or "v1".
  std::string GroupVersion() const;
  // "deployments.v1.apps", "configmaps.v1" (kubectl's fully qualified spelling).
  std::string ToString() const;
  friend bool operator==(const GroupVersionResource&, const GroupVersionResource&) = default;
  friend auto operator<=>(const GroupVersionResource&, const GroupVersionResource&) = default;
};

// One entry of an APIResourceList, with its group/version filled in.
struct ApiResource {
  std::string group;
  std::string version;
  std::string name;  // plural: "deployments"
  std::string singular_name;
  std::string kind;
  bool namespaced = false;
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<std::string> subresources;  // "status", "scale" (from "deployments/scale")

  GroupVersionResource gvr() const { return {group, version, name}; }
  bool HasVerb(std::string_view verb) const;
  bool HasSubresource(std::string_view sub) const;
};

struct ApiGroup {
  std::string name;                   // "" for the core group
  std::vector<std::string> versions;  // preferred first, then in the server's order
  std::string preferred_version;
};

// A group/version whose resources could not be read.
struct DiscoveryFailure {
  std::string group_version;
  Status status;
};

struct DiscoveryOptions {
  // A lookup miss reloads discovery at most this often.
  std::chrono::milliseconds min_refresh_interval{30'000};
  Clock* clock = nullptr;  // nullptr: RealClock()
};

class Discovery {
 public:
  explicit Discovery(RestClient* rest, DiscoveryOptions options = {});
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Reloads everything. Errors of /api or /apis (the code RestClient gave) keep the previous
  // cache; per-group-version errors are recorded in failures() and are not returned.
  Status Refresh();

  // Loads discovery on first use. Errors as Refresh().
  StatusOr<std::vector<ApiGroup>> Groups();
  // Every resource (not subresources) of every served group/version, preferred versions first.
  StatusOr<std::vector<ApiResource>> Resources();
  // The failures of the last refresh.
  std::vector<DiscoveryFailure> failures() const;

  // The resource for an exact group/version/resource. NotFound if not served (after the
  // refresh-on-miss rule).
  StatusOr<ApiResource> ResourceFor(const GroupVersionResource& gvr);
  // kubectl's spelling of a resource: plural, singular or short name, or kind, optionally
  // qualified by group or version.group: "deploy", "deployments", "deployment.apps",
  // "deployments.v1.apps", "Deployment", "Deployment.apps". Case-insensitive. The core group
  // wins over others, then the discovery order; within a group the preferred version wins.
  // NotFound if nothing matches, InvalidArgument for an empty name.
  StatusOr<ApiResource> Lookup(std::string_view name);
  // The resource serving `kind` in `group` (preferred version, or `version` if not empty).
  StatusOr<ApiResource> ResourceForKind(std::string_view group, std::string_view version,
                                        std::string_view kind);
  // The preferred version of a group ("" for core: "v1"). NotFound for an unknown group.
  StatusOr<std::string> PreferredVersion(std::string_view group);

  struct Snapshot;

 private:
  StatusOr<std::shared_ptr<const Snapshot>> Current();
  // Refreshes if allowed by the miss rule; returns true when it did and succeeded.
  bool RefreshOnMiss();

  RestClient* rest_;
  DiscoveryOptions options_;
  Clock* clock_;
  std::mutex refresh_mu_;  // serializes refreshes
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<DiscoveryFailure> failures_;
  std::optional<Clock::TimePoint> last_refresh_;
};

}  // namespace lifeboat::kube
