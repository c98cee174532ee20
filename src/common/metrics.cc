#include "lifeboat/common/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>
#include <variant>

#include "absl/strings/str_cat.h"

namespace lifeboat::metrics {
namespace {

void AtomicAdd(std::atomic<double>& a, double v) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

bool ValidName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string_view TypeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not one.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, double v, std::string_view le = {}) {
  out += name;
  AppendLabels(out, names, values, le);
  out += ' ';
  out += FormatValue(v);
  out += '\n';
}

}  // namespace

void Counter::Inc(double v) {
  if (!(v > 0)) return;  // also rejects NaN
  AtomicAdd(value_, v);
}

void Gauge::Add(double v) { AtomicAdd(value_, v); }

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)), counts_(upper_bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;
  // Buckets are inclusive upper bounds: the first bound >= v.
  size_t i =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), v) - upper_bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  ++counts_[i];
  sum_ += v;
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.upper_bounds = upper_bounds_;
  std::lock_guard<std::mutex> lock(mu_);
  s.cumulative.reserve(counts_.size());
  uint64_t running = 0;
  for (uint64_t c : counts_) s.cumulative.push_back(running += c);
  s.sum = sum_;
  s.count = running;
  return s;
}

template <typename Child>
Family<Child>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                      std::vector<double> buckets)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      buckets_(std::move(buckets)) {
  order_.resize(label_names_.size());
  std::iota(order_.begin(), order_.end(), 0);
  std::sort(order_.begin(), order_.end(),
            [&](size_t a, size_t b) { return label_names_[a] < label_names_[b]; });
  for (size_t i : order_) sorted_names_.push_back(label_names_[i]);
}

template <typename Child>
std::unique_ptr<Child> Family<Child>::NewChild() const {
  if constexpr (std::is_same_v<Child, Histogram>) {
    return std::make_unique<Histogram>(buckets_);
  } else {
    return std::make_unique<Child>();
  }
}

template <typename Child>
std::vector<std::string> Family<Child>::Reorder(const std::vector<std::string>& values) const {
  LIFEBOAT_CHECK(values.size() == label_names_.size());
  std::vector<std::string> sorted;
  sorted.reserve(values.size());
  for (size_t i : order_) sorted.push_back(values[i]);
  return sorted;
}

template <typename Child>
Child& Family<Child>::WithLabels(const std::vector<std::string>& values) {
  std::vector<std::string> key = Reorder(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) it = children_.emplace(std::move(key), NewChild()).first;
  return *it->second;
}

template <typename Child>
bool Family<Child>::Remove(const std::vector<std::string>& values) {
  std::vector<std::string> key = Reorder(values);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) return false;
  removed_.push_back(std::move(it->second));
  children_.erase(it);
  return true;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
  MetricType type;
  std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
               std::unique_ptr<Family<Histogram>>>
      family;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Status Registry::CheckNew(const std::string& name, MetricType type,
                          const std::vector<std::string>& label_names) const {
  if (!ValidName(name, /*allow_colon=*/true)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid metric name \"", name, "\""));
  }
  std::set<std::string> seen;
  for (const auto& l : label_names) {
    if (!ValidName(l, /*allow_colon=*/false) || l.rfind("__", 0) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, ": invalid label name \"", l, "\""));
    }
    if (type == MetricType::kHistogram && l == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, ": a histogram cannot have a label named \"le\""));
    }
    if (!seen.insert(l).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric ", name, ": label \"", l, "\" given twice"));
    }
  }
  // Every series name the new family would write, against every series name already written.
  auto series = [](const std::string& n, MetricType t) {
    if (t != MetricType::kHistogram) return std::vector<std::string>{n};
    return std::vector<std::string>{n, n + "_bucket", n + "_sum", n + "_count"};
  };
  for (const auto& mine : series(name, type)) {
    for (const auto& [other_name, entry] : families_) {
      for (const auto& theirs : series(other_name, entry->type)) {
        if (mine == theirs) {
          return absl::InvalidArgumentError(
              absl::StrCat("metric ", name, " clashes with registered metric ", other_name));
        }
      }
    }
  }
  return absl::OkStatus();
}

StatusOr<Family<Counter>*> Registry::AddCounter(const std::string& name, const std::string& help,
                                                const std::vector<std::string>& label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_RETURN_IF_ERROR(CheckNew(name, MetricType::kCounter, label_names));
  std::unique_ptr<Family<Counter>> f(new Family<Counter>(name, help, label_names, {}));
  Family<Counter>* raw = f.get();
  if (label_names.empty()) raw->WithLabels({});
  families_[name] = std::make_unique<Entry>(Entry{MetricType::kCounter, std::move(f)});
  return raw;
}

StatusOr<Family<Gauge>*> Registry::AddGauge(const std::string& name, const std::string& help,
                                            const std::vector<std::string>& label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_RETURN_IF_ERROR(CheckNew(name, MetricType::kGauge, label_names));
  std::unique_ptr<Family<Gauge>> f(new Family<Gauge>(name, help, label_names, {}));
  Family<Gauge>* raw = f.get();
  if (label_names.empty()) raw->WithLabels({});
  families_[name] = std::make_unique<Entry>(Entry{MetricType::kGauge, std::move(f)});
  return raw;
}

StatusOr<Family<Histogram>*> Registry::AddHistogram(const std::string& name,
                                                    const std::string& help,
                                                    const std::vector<std::string>& label_names,
                                                    const std::vector<double>& buckets) {
  std::lock_guard<std::mutex> lock(mu_);
  LIFEBOAT_RETURN_IF_ERROR(CheckNew(name, MetricType::kHistogram, label_names));
  if (buckets.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("histogram ", name, ": no buckets"));
  }
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", name, ": buckets must be finite and strictly increasing"));
    }
  }
  std::unique_ptr<Family<Histogram>> f(new Family<Histogram>(name, help, label_names, buckets));
  Family<Histogram>* raw = f.get();
  if (label_names.empty()) raw->WithLabels({});
  families_[name] = std::make_unique<Entry>(Entry{MetricType::kHistogram, std::move(f)});
  return raw;
}

namespace {

template <typename Child>
void AppendFamily(std::string& out, const Family<Child>& f, MetricType type) {
  std::string body;
  const auto& names = f.sorted_label_names();
  f.ForEach([&](const std::vector<std::string>& values, const Child& child) {
    if constexpr (std::is_same_v<Child, Histogram>) {
      Histogram::Snapshot s = child.Collect();
      for (size_t i = 0; i < s.upper_bounds.size(); ++i) {
        AppendSample(body, f.name() + "_bucket", names, values,
                     static_cast<double>(s.cumulative[i]), FormatValue(s.upper_bounds[i]));
      }
      AppendSample(body, f.name() + "_bucket", names, values, static_cast<double>(s.count), "+Inf");
      AppendSample(body, f.name() + "_sum", names, values, s.sum);
      AppendSample(body, f.name() + "_count", names, values, static_cast<double>(s.count));
    } else {
      AppendSample(body, f.name(), names, values, child.Value());
    }
  });
  if (body.empty()) return;  // no children: not exposed (as Prometheus' Go client does)
  out += "# HELP " + f.name() + " " + EscapeHelp(f.help()) + "\n";
  out += "# TYPE " + f.name() + " " + std::string(TypeName(type)) + "\n";
  out += body;
}

}  // namespace

std::string Registry::Exposition() const {
  std::string out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, entry] : families_) {
    std::visit([&](const auto& f) { AppendFamily(out, *f, entry->type); }, entry->family);
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // As Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back as `v`,
  // in scientific notation when the decimal exponent is < -4 or >= 6, else in fixed notation.
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string s(buf, sci.ptr);
  size_t e = s.find('e');
  int exp = std::stoi(s.substr(e + 1));
  if (exp < -4 || exp >= 6) return s;  // "1.5e+09", "1e-05": same shape as Go's
  auto fixed = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size();) {
    size_t n = Utf8SequenceLength(v, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    if (n == 1) {
      char c = v[i];
      if (c == '\\')
        out += "\\\\";
      else if (c == '"')
        out += "\\\"";
      else if (c == '\n')
        out += "\\n";
      else
        out += c;
    } else {
      out.append(v.substr(i, n));
    }
    i += n;
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace lifeboat::metrics
