// kubesim: a single-process Kubernetes API server for Lifeboat's development, tests, demos and
// benchmarks. See kubesim/README.md.

#include <csignal>
#include <iostream>

#include "CLI/CLI.hpp"
#include "kubesim/src/kubesim_main.h"
#include "lifeboat/common/log.h"

int main(int argc, char** argv) {
  kubesim::MainOptions opts;
  CLI::App app{"kubesim: a Kubernetes API server for development and tests (not for workloads)"};
  app.add_option("--data-dir", opts.data_dir, "Directory for state, certificates, tokens and volumes")->required();
  app.add_option("--listen", opts.listen, "host:port to listen on (port 0 picks a free one)")
      ->capture_default_str();
  app.add_option("--snapshot-dir", opts.snapshot_dir,
                 "Directory for CSI volume snapshots (default <data-dir>/snapshots); kubesims sharing it share snapshots");
  app.add_option("--write-kubeconfig", opts.kubeconfig, "Write a kubeconfig for the admin (and viewer) user here");
  app.add_flag("--fresh", opts.fresh, "Discard the state in --data-dir and start an empty cluster");
  app.add_option("--authorization", opts.authorization,
                 "AlwaysAllow, or ReadOnlyViewer (only system:masters may write)")
      ->capture_default_str()
      ->check(CLI::IsMember({"AlwaysAllow", "ReadOnlyViewer"}));
  app.add_option("--nodes", opts.nodes, "Number of simulated nodes")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--exec-websocket-protocols", opts.exec_websocket_protocols,
                 "Pod exec subprotocols to accept (default all; v4.channel.k8s.io alone acts like kube < 1.30)")
      ->delimiter(',');
  app.add_flag("--sync", opts.sync, "fdatasync every write (survive machine crashes, not only process crashes)");
  app.add_option("--fault-429-rate", opts.faults.rate_429, "Fraction of API requests answered 429")->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-500-rate", opts.faults.rate_500, "Fraction of API requests answered 500")->check(CLI::Range(0.0, 1.0));
  app.add_option("--fault-retry-after", opts.faults.retry_after_seconds, "Retry-After seconds on injected 429s")
      ->capture_default_str();
  int latency_ms = 0, drop_ms = 0;
  app.add_option("--fault-latency-ms", latency_ms, "Latency added to every API request")->check(CLI::NonNegativeNumber);
  app.add_option("--fault-watch-drop-ms", drop_ms, "End every watch after this many milliseconds")->check(CLI::NonNegativeNumber);
  app.add_option("--fault-seed", opts.faults.seed, "Seed for fault injection (0: random)");
  std::string log_level = "info";
  int64_t resync_seconds = 30;
  app.add_option("--controller-resync-seconds", resync_seconds,
                 "How often controllers reconcile every object, changed or not (benchmarks: longer)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{86400}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  opts.faults.latency = std::chrono::milliseconds(latency_ms);
  opts.controller_resync = std::chrono::seconds(resync_seconds);
  opts.faults.watch_drop_after = std::chrono::milliseconds(drop_ms);

  if (auto s = lifeboat::log::Init(log_level); !s.ok()) {
    std::cerr << "kubesim: " << s.message() << "\n";
    return 2;
  }
  // Block the termination signals in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto running = kubesim::StartKubesim(opts);
  if (!running.ok()) {
    std::cerr << "kubesim: " << running.status().message() << "\n";
    return 1;
  }
  std::cout << "kubesim listening on https://" << (*running)->address() << std::endl;
  if (!opts.kubeconfig.empty()) std::cout << "kubeconfig written to " << opts.kubeconfig << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  LB_LOG_INFO("kubesim: signal {}, shutting down", sig);
  (*running)->Stop();
  return 0;
}
