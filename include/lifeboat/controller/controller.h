#pragma once

// A controller: a work queue fed by informers (every add/update/delete of a watched object
// queues its name; a resync re-queues every name), drained by `workers` threads that call a
// Reconciler. Results are applied as the Reconciler contract says (reconciler.h): an error
// re-queues with per-key backoff; requeue_after schedules the next look; success resets the
// backoff. Each reconcile is logged with the controller's name and the object's name.
//
// Thread safety: Enqueue/EnqueueAfter from any thread; Watch before Run; Run once. After Run
// returned the queue is shut down (later Enqueues are ignored).

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/controller/reconciler.h"
#include "lifeboat/controller/work_queue.h"
#include "lifeboat/kube/informer.h"

namespace lifeboat::controller {

struct ControllerOptions {
  std::string name;  // "backup", "restore", ... (logs and metrics)
  int workers = 1;
  WorkQueueOptions queue;
};

// Maps a watched object to the name to reconcile ("" to ignore it). The default is the
// object's metadata.name.
using KeyFunc = std::function<std::string(const boost::json::value& obj)>;

class Controller {
 public:
  Controller(ControllerOptions options, Reconciler* reconciler);
  ~Controller();

  // Queues names from an informer's events (call before the informer starts).
  void Watch(kube::Informer& informer, KeyFunc key = nullptr);
  void Enqueue(const std::string& name);
  void EnqueueAfter(const std::string& name, std::chrono::milliseconds delay);

  // Runs the workers until `cancel` fires; returns after every in-flight Reconcile returned
  // (their tokens are cancelled too).
  void Run(const CancellationToken& cancel);

  const std::string& name() const { return options_.name; }
  WorkQueue& queue() { return queue_; }

 private:
  // Reconciles one name and applies the result to the queue (backoff, forget, requeue).
  void ProcessOne(const std::string& name, const CancellationToken& cancel);

  ControllerOptions options_;
  Reconciler* reconciler_;
  WorkQueue queue_;
};

}  // namespace lifeboat::controller
