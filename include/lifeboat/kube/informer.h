#pragma once

// An informer (client-go's SharedIndexInformer without indexes or sharing): a Reflector keeps a
// cache of one resource (namespace/name -> object) in sync with the server, and event handlers
// hear about every change:
//   on_add(obj)            a new object (watch ADDED, or new in a (re-)list)
//   on_update(old, new)    a changed object (watch MODIFIED, or a (re-)list that shows a new
//                          resourceVersion), and for every object each resync period
//   on_delete(obj)         a deleted object: its final state from a watch DELETED event, or the
//                          last cached state of an object missing from a re-list
// Handlers are called one at a time, in the order of the changes, from the informer's threads;
// they must not call Stop().
//
// Thread safety: Get/List/HasSynced/size may be called from any thread at any time.
// AddEventHandler before Start. The ReflectorStore methods are the reflector's (tests may
// feed an informer directly without starting it).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "lifeboat/common/cancellation.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/watch.h"

namespace lifeboat::kube {

struct ResourceEventHandler {
  std::function<void(const boost::json::value& obj)> on_add;
  std::function<void(const boost::json::value& old_obj, const boost::json::value& new_obj)> on_update;
  std::function<void(const boost::json::value& last)> on_delete;
};

struct InformerOptions {
  ReflectorOptions reflector;
  // 0: no resync. Otherwise every period on_update(obj, obj) is called for every cached object.
  std::chrono::milliseconds resync_period{0};
};

class Informer final : public ReflectorStore {
 public:
  Informer(DynamicClient* client, GroupVersionResource gvr, std::string ns, InformerOptions options = {});
  ~Informer() override;  // Stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void AddEventHandler(ResourceEventHandler handler);
  // Starts the reflector (and resync) threads. Idempotent.
  void Start();
  // Stops and joins the threads. Idempotent.
  void Stop();

  // True once the first list has been stored.
  bool HasSynced() const;
  // Waits until HasSynced() or `timeout`; returns HasSynced().
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // By ObjectKey ("ns/name" or "name").
  std::optional<boost::json::value> Get(std::string_view key) const;
  std::vector<boost::json::value> List() const;
  size_t size() const;
  std::string last_sync_resource_version() const;
  const Reflector* reflector() const { return reflector_.get(); }

  // Calls on_update(obj, obj) for every cached object (the resync thread calls it each period).
  void Resync();

  // ReflectorStore.
  void Replace(std::vector<boost::json::value> items, const std::string& resource_version) override;
  void Add(boost::json::value obj) override;
  void Update(boost::json::value obj) override;
  void Delete(boost::json::value obj) override;

 private:
  void Upsert(boost::json::value obj);
  void ResyncLoop(CancellationToken cancel);

  GroupVersionResource gvr_;
  InformerOptions options_;
  std::unique_ptr<Reflector> reflector_;
  std::vector<ResourceEventHandler> handlers_;

  std::mutex dispatch_mu_;  // held while changing the cache and calling handlers: keeps order
  mutable std::mutex mu_;   // guards the fields below
  mutable std::condition_variable synced_cv_;
  std::map<std::string, boost::json::value, std::less<>> cache_;
  bool synced_ = false;
  std::string last_sync_rv_;

  std::mutex run_mu_;
  std::unique_ptr<CancellationSource> stop_;
  std::thread reflector_thread_;
  std::thread resync_thread_;
};

}  // namespace lifeboat::kube
