// arm_contract_server: the local Azure Resource Manager contract server (arm_server.h) as a
// process, for end-to-end tests of `lifeboat server` (test/integration/
// azure_snapshots_acceptance_test.py). Test-only: plain HTTP on 127.0.0.1, nothing persisted.
//
//   arm_contract_server [--disk ID[:LOCATION[:SKU]]]... [--resource-group SUB/RG]...
//                       [--tenant T] [--client-id C] [--client-secret S]
//                       [--operation-polls N] [--retry-after SECONDS] [--page-size N]
//                       [--put-status 202|201|200]
//                       [--fault METHOD,PATH_CONTAINS,STATUS,RETRY_AFTER,TIMES]...
//                       [--fail-next-operation CODE,MESSAGE[,STATUS]]
//
// ID is a disk resource ID (/subscriptions/<sub>/resourceGroups/<rg>/providers/
// Microsoft.Compute/disks/<name>); LOCATION defaults to westeurope, SKU to Premium_LRS. In a
// --fault, an empty METHOD or PATH_CONTAINS matches anything and RETRY_AFTER -1 sends none.
//
// Prints one line of JSON on stdout once it listens:
//   {"endpoint": "http://127.0.0.1:PORT", "authorityHost": "http://127.0.0.1:PORT",
//    "tenant": ..., "clientId": ...}
// (AZURE_RESOURCE_MANAGER_ENDPOINT and AZURE_AUTHORITY_HOST for the code under test), then
// serves until SIGTERM or SIGINT.
//
// Test-only endpoints (no authentication; never counted as ARM requests):
//   GET  /_test/state                  ArmServer::State(): disks, snapshots (with tags),
//                                      resource groups, request/fault/token counters
//   POST /_test/disks      {"id", "location"?, "sku"?, "tags"?}
//   POST /_test/snapshots  {"id", "location"?, "source"?, "tags"?}   created directly, Succeeded
//   POST /_test/faults     {"method"?, "pathContains"?, "status"?, "retryAfterSeconds"?, "times"?}
//   POST /_test/fail-next-operation {"code", "message", "status"?}
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lifeboat/common/json.h"
#include "src/volume/azure/testing/arm_server.h"

namespace {

using lifeboat::JsonFind;
using lifeboat::JsonInt;
using lifeboat::JsonString;
using lifeboat::volume::azure::testing::ArmServer;

std::vector<std::string> Split(const std::string& s, char sep, size_t max_parts = 0) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    if (at == std::string::npos || (max_parts != 0 && out.size() + 1 == max_parts)) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

struct ComputeId {
  std::string subscription, resource_group, kind, name;
};

// "/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Compute/<kind>/<name>".
bool ParseComputeId(const std::string& id, ComputeId* out) {
  auto seg = Split(id, '/');
  if (seg.size() != 9 || !seg[0].empty() || seg[1] != "subscriptions" ||
      seg[3] != "resourceGroups" || seg[5] != "providers" || seg[6] != "Microsoft.Compute" ||
      seg[2].empty() || seg[4].empty() || seg[8].empty()) {
    return false;
  }
  *out = ComputeId{seg[2], seg[4], seg[7], seg[8]};
  return true;
}

bool ParseInt(const std::string& s, int* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (*end != '\0') return false;
  *out = static_cast<int>(v);
  return true;
}

std::map<std::string, std::string> TagsOf(const boost::json::value& body) {
  std::map<std::string, std::string> out;
  const boost::json::value* tags = JsonFind(body, {"tags"});
  if (tags == nullptr || !tags->is_object()) return out;
  for (const auto& [k, v] : tags->as_object()) {
    if (v.is_string()) out[std::string(k)] = std::string(v.as_string());
  }
  return out;
}

void Reply(lifeboat::http::ResponseWriter& w, int status, const boost::json::value& body) {
  (void)w.Send(status, {{"Content-Type", "application/json"}}, boost::json::serialize(body));
}

void ReplyError(lifeboat::http::ResponseWriter& w, int status, const std::string& message) {
  Reply(w, status, boost::json::object{{"error", message}});
}

// The running server, for the test endpoints (set once it has started, cleared before it stops).
std::atomic<ArmServer*> g_server{nullptr};

// The /_test/ endpoints.
bool HandleTest(lifeboat::http::Request& req, lifeboat::http::ResponseWriter& w) {
  if (!req.path.starts_with("/_test/")) return false;
  ArmServer* s = g_server.load();
  if (s == nullptr) {
    ReplyError(w, 503, "starting");
    return true;
  }
  if (req.path == "/_test/state" && req.method == "GET") {
    Reply(w, 200, s->State());
    return true;
  }
  if (req.method != "POST") {
    ReplyError(w, 405, "unknown test endpoint or method: " + req.method + " " + req.path);
    return true;
  }
  auto parsed = lifeboat::ParseJson(req.body.empty() ? "{}" : req.body);
  if (!parsed.ok() || !parsed->is_object()) {
    ReplyError(w, 400, "the body must be a JSON object");
    return true;
  }
  const boost::json::value& body = *parsed;
  if (req.path == "/_test/disks" || req.path == "/_test/snapshots") {
    const bool disk = req.path == "/_test/disks";
    ComputeId id;
    if (!ParseComputeId(JsonString(body, {"id"}).value_or(""), &id) ||
        id.kind != (disk ? "disks" : "snapshots")) {
      ReplyError(w, 400, std::string("\"id\" must be a Microsoft.Compute/") +
                             (disk ? "disks" : "snapshots") + " resource ID");
      return true;
    }
    const std::string location = JsonString(body, {"location"}).value_or("westeurope");
    if (disk) {
      s->AddDisk(id.subscription, id.resource_group, id.name, location,
                 JsonString(body, {"sku"}).value_or("Premium_LRS"), TagsOf(body));
    } else {
      s->AddSnapshot(id.subscription, id.resource_group, id.name, location,
                     JsonString(body, {"source"}).value_or(""), TagsOf(body));
    }
    Reply(w, 201, boost::json::object{{"created", JsonString(body, {"id"}).value_or("")}});
    return true;
  }
  if (req.path == "/_test/faults") {
    ArmServer::Fault f;
    f.method = JsonString(body, {"method"}).value_or("");
    f.path_contains = JsonString(body, {"pathContains"}).value_or("");
    f.status = static_cast<int>(JsonInt(body, {"status"}).value_or(429));
    f.retry_after_seconds = static_cast<int>(JsonInt(body, {"retryAfterSeconds"}).value_or(-1));
    f.times = static_cast<int>(JsonInt(body, {"times"}).value_or(1));
    s->AddFault(f);
    Reply(w, 201, boost::json::object{{"added", true}});
    return true;
  }
  if (req.path == "/_test/fail-next-operation") {
    s->FailNextOperation(JsonString(body, {"code"}).value_or("InternalOperationError"),
                         JsonString(body, {"message"}).value_or("The operation failed."),
                         JsonString(body, {"status"}).value_or("Failed"));
    Reply(w, 201, boost::json::object{{"armed", true}});
    return true;
  }
  ReplyError(w, 404, "unknown test endpoint: " + req.path);
  return true;
}

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "arm_contract_server: %s\n"
               "usage: arm_contract_server [--disk ID[:LOCATION[:SKU]]]... "
               "[--resource-group SUB/RG]... [--tenant T] [--client-id C] [--client-secret S] "
               "[--operation-polls N] [--retry-after S] [--page-size N] [--put-status N] "
               "[--fault METHOD,PATH,STATUS,RETRY_AFTER,TIMES]... "
               "[--fail-next-operation CODE,MESSAGE[,STATUS]]\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ArmServer::Options options;
  options.retry_after_seconds = 1;  // polls every second rather than the client's default 5 s
  struct Disk {
    ComputeId id;
    std::string location = "westeurope", sku = "Premium_LRS";
  };
  std::vector<Disk> disks;
  std::vector<std::pair<std::string, std::string>> groups;
  std::vector<ArmServer::Fault> faults;
  std::vector<std::string> fail_next;

  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      Usage("help");
      return 0;
    }
    if (i + 1 >= argc) return Usage(flag + " needs a value");
    const std::string value = argv[++i];
    auto int_flag = [&](int* out) {
      return ParseInt(value, out) ? 0 : Usage(flag + ": not an integer: " + value);
    };
    int rc = 0;
    if (flag == "--disk") {
      // The ID has no ':', so the first ':' ends it.
      auto parts = Split(value, ':', 3);
      Disk d;
      if (!ParseComputeId(parts[0], &d.id) || d.id.kind != "disks") {
        return Usage("--disk: not a Microsoft.Compute/disks resource ID: " + parts[0]);
      }
      if (parts.size() > 1 && !parts[1].empty()) d.location = parts[1];
      if (parts.size() > 2 && !parts[2].empty()) d.sku = parts[2];
      disks.push_back(d);
    } else if (flag == "--resource-group") {
      auto parts = Split(value, '/');
      if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
        return Usage("--resource-group: want SUBSCRIPTION/RESOURCE_GROUP: " + value);
      }
      groups.emplace_back(parts[0], parts[1]);
    } else if (flag == "--tenant") {
      options.tenant = value;
    } else if (flag == "--client-id") {
      options.client_id = value;
    } else if (flag == "--client-secret") {
      options.client_secret = value;
    } else if (flag == "--operation-polls") {
      rc = int_flag(&options.operation_polls);
    } else if (flag == "--retry-after") {
      rc = int_flag(&options.retry_after_seconds);
    } else if (flag == "--page-size") {
      rc = int_flag(&options.page_size);
    } else if (flag == "--put-status") {
      rc = int_flag(&options.put_status);
    } else if (flag == "--fault") {
      auto parts = Split(value, ',');
      ArmServer::Fault f;
      if (parts.size() != 5 || !ParseInt(parts[2], &f.status) ||
          !ParseInt(parts[3], &f.retry_after_seconds) || !ParseInt(parts[4], &f.times)) {
        return Usage("--fault: want METHOD,PATH_CONTAINS,STATUS,RETRY_AFTER,TIMES: " + value);
      }
      f.method = parts[0];
      f.path_contains = parts[1];
      faults.push_back(f);
    } else if (flag == "--fail-next-operation") {
      fail_next = Split(value, ',', 3);
      if (fail_next.size() < 2) return Usage("--fail-next-operation: want CODE,MESSAGE[,STATUS]");
    } else {
      return Usage("unknown flag " + flag);
    }
    if (rc != 0) return rc;
  }
  if (options.page_size <= 0) return Usage("--page-size must be > 0");

  // Signals are taken synchronously by this thread; every server thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  options.test_handler = HandleTest;
  auto server = ArmServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "arm_contract_server: %s\n",
                 std::string(server.status().message()).c_str());
    return 1;
  }
  g_server.store(server->get());
  for (const auto& [sub, rg] : groups) (*server)->AddResourceGroup(sub, rg);
  for (const auto& d : disks) {
    (*server)->AddDisk(d.id.subscription, d.id.resource_group, d.id.name, d.location, d.sku);
  }
  for (const auto& f : faults) (*server)->AddFault(f);
  if (!fail_next.empty()) {
    (*server)->FailNextOperation(fail_next[0], fail_next[1],
                                 fail_next.size() > 2 ? fail_next[2] : "Failed");
  }

  const std::string endpoint = (*server)->endpoint();
  boost::json::object hello{{"endpoint", endpoint},
                            {"authorityHost", endpoint},
                            {"tenant", options.tenant},
                            {"clientId", options.client_id}};
  std::printf("%s\n", boost::json::serialize(hello).c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "arm_contract_server: signal %d, stopping\n", sig);
  std::fflush(stderr);
  g_server.store(nullptr);
  server->reset();
  return 0;
}
