// The backup engine's benchmark (issue 5): fills kubesim with objects of several kinds over many
// namespaces, then, in separate runs of this binary so each has its own peak memory, either
// lists every collection the backup takes with paginated requests (the baseline) or runs a
// whole backup into a local-directory bucket. Prints one JSON line per run.
//
//   backup_bench --kubeconfig K populate --objects 100000 --namespaces 200
//   backup_bench --kubeconfig K list
//   backup_bench --kubeconfig K backup --bucket-root DIR

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "lifeboat/api/backup.h"
#include "lifeboat/backup/backupper.h"
#include "lifeboat/common/json.h"
#include "lifeboat/common/log.h"
#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/object.h"
#include "lifeboat/storage/backup_store.h"
#include "lifeboat/storage/registry.h"
#include "src/backup/actions/builtin_actions.h"

namespace {

using lifeboat::kube::GroupVersionResource;
namespace json = boost::json;

int64_t PeakRssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

json::value Parse(const std::string& s) { return *lifeboat::ParseJson(s); }

const GroupVersionResource kWidgets{"bench.lifeboat.dev", "v1", "widgets"};

// The i-th object: 40% config maps, 30% secrets, 10% services, 10% deployments (no replicas,
// so no pods appear), 10% custom resources.
std::pair<GroupVersionResource, json::value> Object(int64_t i, const std::string& ns) {
  const std::string name = "obj-" + std::to_string(i);
  const int kind = static_cast<int>(i % 10);
  const std::string payload(200, static_cast<char>('a' + i % 26));
  if (kind < 4) {
    return {{"", "v1", "configmaps"}, Parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name +
                                            R"(","labels":{"app":"bench"}},"data":{"config":")" + payload + "\"}}")};
  }
  if (kind < 7) {
    return {{"", "v1", "secrets"}, Parse(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":")" + name +
                                         R"("},"stringData":{"password":")" + payload + "\"}}")};
  }
  if (kind < 8) {
    return {{"", "v1", "services"}, Parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name +
                                          R"("},"spec":{"selector":{"app":"x"},"ports":[{"port":80}]}})")};
  }
  if (kind < 9) {
    return {{"apps", "v1", "deployments"},
            Parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":")" + name +
                  R"("},"spec":{"replicas":0,"selector":{"matchLabels":{"app":")" + name +
                  R"("}},"template":{"metadata":{"labels":{"app":")" + name +
                  R"("}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}})")};
  }
  return {kWidgets, Parse(R"({"apiVersion":"bench.lifeboat.dev/v1","kind":"Widget","metadata":{"name":")" + name +
                          R"("},"spec":{"payload":")" + payload + "\"}}")};
}

int Populate(lifeboat::kube::DynamicClient& client, lifeboat::kube::Discovery& discovery, int64_t objects,
             int namespaces, int threads) {
  auto crd = Parse(R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"widgets.bench.lifeboat.dev"},"spec":{"group":"bench.lifeboat.dev","scope":"Namespaced","names":{"plural":"widgets","singular":"widget","kind":"Widget"},"versions":[{"name":"v1","served":true,"storage":true,"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}})");
  (void)client.Create({"apiextensions.k8s.io", "v1", "customresourcedefinitions"}, "", crd);
  for (int i = 0; i < 200 && !discovery.ResourceFor(kWidgets).ok(); ++i) {
    (void)discovery.Refresh();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (int n = 0; n < namespaces; ++n) {
    (void)client.Create({"", "v1", "namespaces"}, "",
                        Parse(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns-)" + std::to_string(n) + "\"}}"));
  }
  std::atomic<int64_t> next{0}, failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int64_t i = next++; i < objects; i = next++) {
        const std::string ns = "ns-" + std::to_string(i % namespaces);
        auto [gvr, obj] = Object(i, ns);
        auto r = client.Create(gvr, ns, obj);
        if (!r.ok() && r.status().code() != absl::StatusCode::kAlreadyExists) ++failed;
      }
    });
  }
  for (auto& w : workers) w.join();
  std::printf("{\"populated\":%lld,\"failed\":%lld,\"seconds\":%.2f}\n", static_cast<long long>(objects),
              static_cast<long long>(failed.load()), Since(start));
  return failed > 0 ? 1 : 0;
}

// Lists every collection a whole-cluster backup takes, one after the other, in pages. The time
// includes discovery, as the backup's does (each reads discovery once, from a fresh process).
int List(lifeboat::kube::DynamicClient& client, lifeboat::kube::Discovery& discovery, int64_t page) {
  const auto start = std::chrono::steady_clock::now();
  auto resources = discovery.Resources();
  auto groups = discovery.Groups();
  if (!resources.ok() || !groups.ok()) return 1;
  int64_t items = 0;
  for (const auto& g : *groups) {
    for (const auto& r : *resources) {
      if (r.group != g.name || r.version != g.preferred_version || !r.HasVerb("list")) continue;
      lifeboat::kube::ListAllOptions lo;
      lo.page_size = page;
      // The pager the backup uses (lazy pages: the library's cheapest list).
      auto res = lifeboat::kube::ListAllLazyPages(client, r.gvr(), "", lo, [&](lifeboat::kube::LazyPage& p) {
        items += static_cast<int64_t>(p.items.size());
        return absl::OkStatus();
      });
      if (!res.ok()) std::fprintf(stderr, "list %s: %s\n", r.name.c_str(), res.status().ToString().c_str());
    }
  }
  std::printf("{\"mode\":\"list\",\"items\":%lld,\"seconds\":%.3f,\"peak_rss_mib\":%.1f}\n",
              static_cast<long long>(items), Since(start), PeakRssKib() / 1024.0);
  return 0;
}

int Backup(lifeboat::kube::DynamicClient& client, lifeboat::kube::Discovery& discovery,
           const std::string& root, int workers, bool fixed_workers, int level, int archive_threads,
           bool go_form_items, int64_t page, int64_t page_bytes, bool each_namespace) {
  lifeboat::storage::DriverParams params;
  params.config = {{"root", root}};
  auto store = lifeboat::storage::NewObjectStore("local", params);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::filesystem::create_directories(std::filesystem::path(root) / "bucket");
  lifeboat::storage::BackupStore bs(std::shared_ptr<lifeboat::storage::ObjectStore>(std::move(*store)), "bucket", "");
  lifeboat::backup::BackupperDeps deps;
  deps.client = &client;
  deps.discovery = &discovery;
  deps.store = &bs;
  deps.actions = lifeboat::backup::BuiltinBackupItemActions(&client);
  lifeboat::backup::BackupperOptions options;
  options.list_workers = workers;
  options.adaptive_list_workers = !fixed_workers;
  options.archive_level = level;
  options.archive_threads = archive_threads;
  options.items_as_served = !go_form_items;
  options.page_size = page;
  options.page_bytes = page_bytes;
  options.temp_dir = root;
  lifeboat::api::Backup b;
  b.metadata.name = "bench-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  b.metadata.namespace_ = "velero";
  b.spec.storage_location = "default";
  if (each_namespace) {
    // Every namespace named: one list per namespace and resource, as for any explicit list.
    auto r = lifeboat::kube::ListAll(
        client, {"", "v1", "namespaces"}, "", {}, [&](boost::json::value&& ns) {
          b.spec.included_namespaces.emplace_back(lifeboat::kube::ObjectName(ns));
          return absl::OkStatus();
        });
    if (!r.ok()) return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  auto done = lifeboat::backup::Backupper(deps, options).Run(b);
  const double seconds = Since(start);
  std::printf("{\"mode\":\"backup\",\"phase\":\"%s\",\"items\":%lld,\"errors\":%lld,\"seconds\":%.3f,\"peak_rss_mib\":%.1f}\n",
              std::string(lifeboat::api::ToString(done.status.phase)).c_str(),
              static_cast<long long>(done.status.progress ? done.status.progress->items_backed_up : 0),
              static_cast<long long>(done.status.errors), seconds, PeakRssKib() / 1024.0);
  return done.status.phase == lifeboat::api::BackupPhase::kCompleted ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"backup engine benchmark"};
  std::string kubeconfig, root;
  int64_t objects = 100000, page = 500;
  int namespaces = 200, threads = 8, workers = 2, level = 1, archive_threads = 2;
  app.add_option("--kubeconfig", kubeconfig)->required();
  app.add_option("--page", page);
  auto* populate = app.add_subcommand("populate");
  populate->add_option("--objects", objects);
  populate->add_option("--namespaces", namespaces);
  populate->add_option("--threads", threads);
  app.add_subcommand("list");
  auto* backup = app.add_subcommand("backup");
  backup->add_option("--bucket-root", root)->required();
  backup->add_option("--workers", workers, "collections listed at once at most");
  bool fixed_workers = false;
  backup->add_flag("--fixed-workers", fixed_workers,
                   "always --workers at once (not only while the CPU has idle time)");
  backup->add_option("--archive-threads", archive_threads, "gzip threads");
  bool go_form_items = false;
  backup->add_flag("--go-form-items", go_form_items,
                   "write items in Go's json.Marshal form (keys sorted) instead of as served");
  int64_t page_bytes = lifeboat::backup::BackupperOptions{}.page_bytes;
  backup
      ->add_option("--page-bytes", page_bytes,
                   "about how many bytes a LIST page holds at most (0: no bound)")
      ->capture_default_str();
  bool each_namespace = false;
  backup->add_flag("--each-namespace", each_namespace,
                   "name every namespace in includedNamespaces (one list per namespace)");
  backup->add_option("--level", level, "archive compression level (1: fastest, ISA-L when built with it)");
  app.require_subcommand(1);
  CLI11_PARSE(app, argc, argv);
  lifeboat::log::Init("warn").IgnoreError();
  auto config = lifeboat::kube::LoadKubeconfig({.explicit_path = kubeconfig});
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 2;
  }
  lifeboat::kube::RestClientOptions ro;
  ro.qps = 0;
  auto rest = lifeboat::kube::RestClient::Create(*config, ro);
  if (!rest.ok()) return 2;
  lifeboat::kube::Discovery discovery(rest->get());
  lifeboat::kube::DynamicClient client(rest->get(), &discovery);
  if (*populate) return Populate(client, discovery, objects, namespaces, threads);
  if (app.got_subcommand("list")) return List(client, discovery, page);
  return Backup(client, discovery, root, workers, fixed_workers, level, archive_threads,
                go_form_items, page, page_bytes, each_namespace);
}
