#pragma once

// kubesim's built-in controllers (the parts of kube-controller-manager, the scheduler and the
// kubelet that make workloads look real) share this small framework: each controller names the
// group-resources it follows, receives their store events in revision order on its own thread,
// and is asked to reconcile everything at start, periodically, and whenever it fell behind the
// event window. Controllers write through Cluster, so their writes follow the API's rules.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kubesim/src/api/cluster.h"
#include "kubesim/src/store/store.h"

namespace kubesim {

class Controller {
 public:
  virtual ~Controller() = default;
  virtual std::string name() const = 0;
  // Group-resources ("pods", "deployments.apps") whose events OnEvent receives; "*" for all.
  virtual std::vector<std::string> Watches() const = 0;
  virtual void OnEvent(const StoreEvent& event) = 0;
  // Level-triggered reconcile of everything this controller owns.
  virtual void Resync() = 0;
};

// Runs each controller on its own thread until Stop() or destruction.
class ControllerRunner {
 public:
  explicit ControllerRunner(Store* store, std::chrono::milliseconds resync = std::chrono::seconds(30));
  ~ControllerRunner();
  void Add(std::unique_ptr<Controller> controller);
  void Start();
  void Stop();

 private:
  void Run(Controller* c);
  Store* store_;
  std::chrono::milliseconds resync_;
  std::vector<std::unique_ptr<Controller>> controllers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace kubesim
