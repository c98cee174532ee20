#pragma once

// A small Prometheus metrics registry: counters, gauges and histograms grouped in families with
// fixed label names, rendered in the Prometheus text exposition format 0.0.4. No third-party
// client library: the server needs a few dozen series, and the format is simple.
//
//   metrics::Registry registry;
//   auto* attempts = registry.AddCounter("velero_backup_attempt_total",
//                                        "Total number of attempted backups",
//                                        {"schedule"}).value();
//   attempts->WithLabels({"nightly"}).Inc();
//   std::string text = registry.Exposition();
//
// Ownership: the registry owns its families and a family owns its children; pointers and
// references handed out stay valid for the registry's lifetime (even after Family::Remove).
//
// Thread safety: everything may be used from any number of threads at once. Counter and gauge
// updates are lock-free atomics; a histogram observation takes that child's own (uncontended)
// mutex so that a scrape always sees _count, _sum and the buckets of the same observations.
// WithLabels takes the family's mutex only to look the child up; callers on hot paths may keep
// the returned reference.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// A monotonically increasing value (Prometheus counter).
class Counter {
 public:
  // Adds `v`. Negative and NaN increments are ignored: a counter never goes down.
  void Inc(double v = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (Prometheus gauge).
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v);
  void Inc() { Add(1.0); }
  void Dec() { Add(-1.0); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted in fixed buckets (Prometheus histogram). Buckets are upper bounds,
// inclusive ("le"), strictly increasing; +Inf is implicit.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);

  // Records one observation. NaN is ignored.
  void Observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;  // without +Inf
    std::vector<uint64_t> cumulative;  // one per upper bound, then one for +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot Collect() const;

 private:
  const std::vector<double> upper_bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative), last one is +Inf
  double sum_ = 0;
};

// A family: one metric name, help text, type and label names; one child per label-value set.
template <typename Child>
class Family {
 public:
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // The child for `values` (one per label name, in the order the family was declared with),
  // created at zero on first use. Passing the wrong number of values is a programming error
  // (LIFEBOAT_CHECK). The reference stays valid for the registry's lifetime.
  Child& WithLabels(const std::vector<std::string>& values);

  // Stops exposing the child for `values` (e.g. a deleted backup storage location). References
  // obtained earlier stay valid but no longer reach the exposition; a later WithLabels creates a
  // fresh child at zero. Returns false if there was no such child.
  bool Remove(const std::vector<std::string>& values);

  // Called by Registry::Exposition: the children in exposition order, label values given in
  // sorted-label-name order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, child] : children_) fn(values, *child);
  }
  // Label names sorted by name (the exposition order of the labels of every sample).
  const std::vector<std::string>& sorted_label_names() const { return sorted_names_; }

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets);
  std::unique_ptr<Child> NewChild() const;
  std::vector<std::string> Reorder(const std::vector<std::string>& values) const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  std::vector<std::string> sorted_names_;
  std::vector<size_t> order_;          // sorted position i takes declared label order_[i]
  const std::vector<double> buckets_;  // histograms only
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
  std::vector<std::unique_ptr<Child>> removed_;  // kept alive for outstanding references
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Register a family. A family without labels has its single child created at once (so it is
  // exposed at zero). Errors (InvalidArgument): a metric name not matching
  // [a-zA-Z_:][a-zA-Z0-9_:]*, a label name not matching [a-zA-Z_][a-zA-Z0-9_]* or starting
  // with "__", a repeated label name, a name already registered (including a histogram's
  // _bucket/_sum/_count series), and for histograms the label "le" or buckets that are empty,
  // not strictly increasing or not finite.
  StatusOr<Family<Counter>*> AddCounter(const std::string& name, const std::string& help,
                                        const std::vector<std::string>& label_names);
  StatusOr<Family<Gauge>*> AddGauge(const std::string& name, const std::string& help,
                                    const std::vector<std::string>& label_names);
  StatusOr<Family<Histogram>*> AddHistogram(const std::string& name, const std::string& help,
                                            const std::vector<std::string>& label_names,
                                            const std::vector<double>& buckets);

  // Every family with at least one child, in the text format 0.0.4: families sorted by name,
  // each with its # HELP and # TYPE lines, samples sorted by label values, labels sorted by
  // name (a histogram's "le" last).
  std::string Exposition() const;

 private:
  struct Entry;
  Status CheckNew(const std::string& name, MetricType type,
                  const std::vector<std::string>& label_names) const;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> families_;  // by name
};

// Formats a sample value as Prometheus' Go client does: "+Inf", "-Inf", "NaN", otherwise the
// shortest decimal that reads back as the same double ("1", "0.25", "1.5e+09").
std::string FormatValue(double v);
// Escapes a label value: backslash, double quote and line feed. Invalid UTF-8 bytes become
// U+FFFD so that the exposition stays parsable.
std::string EscapeLabelValue(std::string_view v);
// Escapes HELP text: backslash and line feed.
std::string EscapeHelp(std::string_view v);

// The Content-Type of Registry::Exposition's output.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace lifeboat::metrics
