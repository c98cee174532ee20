#pragma once

// An in-process HTTP server on 127.0.0.1 implementing the documented Azure Resource Manager
// request/response contract for the calls the Azure snapshotter makes (Microsoft.Compute
// disks and snapshots: PUT, GET, DELETE, list with nextLink paging; long-running operations
// with Azure-AsyncOperation and Location monitors), plus a minimal AAD v2.0 token endpoint
// (client-credentials grant with a secret or a client assertion). For tests only: nothing is
// persisted, there is no TLS.
//
// Contract implemented (learn.microsoft.com "Track asynchronous Azure operations", Compute REST
// "Snapshots"/"Disks"):
//   * every ARM request needs `Authorization: Bearer <token from the token endpoint for scope
//     <endpoint>/.default>` (else 401 InvalidAuthenticationToken) and an api-version query
//     parameter (else 400 MissingApiVersionParameter);
//   * PUT …/{disks|snapshots}/{name} validates the body (location, creationData Copy from an
//     existing source in the same location, sku, tags without '/'), answers 202 (or 201 with
//     the resource body, or 200 when completing synchronously) with Azure-AsyncOperation and
//     Location headers; GET on Azure-AsyncOperation answers {status: InProgress} for
//     `operation_polls` polls, then Succeeded, or Failed/Canceled with {error: {code,
//     message}}; GET on Location answers 202 while in progress, then 200 with the resource, or
//     the error;
//   * GET of a missing resource: 404 ResourceNotFound; a missing resource group: 404
//     ResourceGroupNotFound;
//   * DELETE of an existing resource: 202 + Location (then 204 when done); of a missing one: 204;
//   * GET …/{disks|snapshots}: {value: [...], nextLink} pages of `page_size`.
//
// Thread safety: every method may be called from any thread while the server runs.

#include <atomic>
#include <boost/json.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lifeboat/common/status.h"
#include "lifeboat/http/server.h"

namespace lifeboat::volume::azure::testing {

class ArmServer {
 public:
  struct Options {
    std::string tenant = "tenant-1";
    std::string client_id = "client-1";
    std::string client_secret = "sp-secret-1";
    std::string client_assertion;  // accepted federated token (workload identity), if set
    int operation_polls = 1;       // InProgress answers before an operation ends
    int page_size = 2;             // items per list page
    int put_status = 202;          // 202, 201 (with body) or 200 (synchronous completion)
    bool put_async_header = true;  // false: PUT answers carry Location only
    int retry_after_seconds = 0;   // Retry-After on LRO answers; 0: none
    // Called first for every request (ARM and token alike), without authentication; returns
    // true when it answered. For the test-only endpoints of the standalone server
    // (arm_server_main.cc); it may call the ArmServer's public methods.
    std::function<bool(http::Request&, http::ResponseWriter&)> test_handler;
  };

  // A fault answered instead of the normal response.
  struct Fault {
    std::string method;         // "" matches any
    std::string path_contains;  // "" matches any
    int status = 429;
    int retry_after_seconds = -1;  // -1: no Retry-After header
    int times = 1;
  };

  static StatusOr<std::unique_ptr<ArmServer>> Start(Options options);
  static StatusOr<std::unique_ptr<ArmServer>> Start() { return Start(Options{}); }
  ~ArmServer();

  // "http://127.0.0.1:<port>": the ARM endpoint and the AAD authority host.
  std::string endpoint() const;

  void AddResourceGroup(const std::string& subscription, const std::string& resource_group);
  // Adds a managed disk (its resource group too).
  void AddDisk(const std::string& subscription, const std::string& resource_group,
               const std::string& name, const std::string& location, const std::string& sku,
               const std::map<std::string, std::string>& tags = {},
               const std::vector<std::string>& zones = {});
  // Adds a snapshot directly (no operation, provisioningState Succeeded), as if something other
  // than the code under test had made it; its resource group too. `source_disk_id` is recorded
  // in creationData (it need not exist).
  void AddSnapshot(const std::string& subscription, const std::string& resource_group,
                   const std::string& name, const std::string& location,
                   const std::string& source_disk_id,
                   const std::map<std::string, std::string>& tags = {});
  // Every stored resource: {"disks": [...], "snapshots": [...]} (the resources as GET answers
  // them), plus "resourceGroups" ("sub/rg", lower-case) and the counters below.
  boost::json::value State() const;
  // A stored resource (kind "disks" or "snapshots"), or nullopt.
  std::optional<boost::json::value> Resource(const std::string& subscription,
                                             const std::string& resource_group,
                                             const std::string& kind,
                                             const std::string& name) const;
  std::vector<std::string> ResourceNames(const std::string& subscription,
                                         const std::string& resource_group,
                                         const std::string& kind) const;

  // Answers the next `fault.times` matching ARM requests with the fault.
  void AddFault(Fault fault);
  // The next long-running operation started ends with `status` ("Failed" or "Canceled") and
  // this error instead of Succeeded.
  void FailNextOperation(const std::string& code, const std::string& message,
                         const std::string& status = "Failed");

  // Counters: ARM requests (token requests excluded), faults answered, token grants.
  int arm_requests() const { return arm_requests_.load(); }
  int faults_answered() const { return faults_answered_.load(); }
  int tokens_issued() const { return tokens_issued_.load(); }
  // "METHOD /path" of every ARM request, in order (no query, no headers).
  std::vector<std::string> RequestLog() const;
  // Request bodies of PUTs, by "kind/name".
  std::optional<boost::json::value> PutBody(const std::string& kind, const std::string& name) const;
  // Every string the server ever saw in an Authorization header or token form, for checking
  // that none of them leaks into messages.
  std::vector<std::string> Secrets() const;

 private:
  struct Operation {
    std::string kind;  // "put" or "delete"
    std::string key;   // resource key
    std::string resource_path;
    int polls_left = 0;
    std::string outcome = "Succeeded";
    std::string error_code, error_message;
    bool done = false;
  };

  ArmServer() = default;
  void Handle(http::Request& req, http::ResponseWriter& w);
  void HandleToken(http::Request& req, http::ResponseWriter& w);
  void HandleArm(http::Request& req, http::ResponseWriter& w);
  void HandleOperation(const std::string& op_id, bool location_monitor, http::ResponseWriter& w);
  void HandleResource(http::Request& req, const std::string& sub, const std::string& rg,
                      const std::string& kind, const std::string& name, http::ResponseWriter& w);
  void HandleList(http::Request& req, const std::string& sub, const std::string& rg,
                  const std::string& kind, http::ResponseWriter& w);
  void HandlePut(http::Request& req, const std::string& sub, const std::string& rg,
                 const std::string& kind, const std::string& name, http::ResponseWriter& w);
  // Starts an operation (mu_ held); returns its id.
  std::string StartOperation(const std::string& kind, const std::string& key,
                             const std::string& resource_path);
  // Applies an operation's outcome when it ends (mu_ held).
  void Finish(Operation& op);
  http::Headers MonitorHeaders(const std::string& sub, const std::string& op_id, bool async,
                               bool location) const;

  Options options_;
  std::unique_ptr<http::Server> server_;
  mutable std::mutex mu_;
  std::set<std::string> resource_groups_;                // "sub|rg", lower-case
  std::map<std::string, boost::json::value> resources_;  // "sub|rg|kind|name", lower-case
  std::map<std::string, Operation> operations_;
  std::vector<Fault> faults_;
  std::optional<Operation> next_failure_;
  std::set<std::string> tokens_;
  std::vector<std::string> log_;
  std::map<std::string, boost::json::value> put_bodies_;
  std::vector<std::string> secrets_;
  int next_op_ = 0;
  std::atomic<int> arm_requests_{0};
  std::atomic<int> faults_answered_{0};
  std::atomic<int> tokens_issued_{0};
};

}  // namespace lifeboat::volume::azure::testing
