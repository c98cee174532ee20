#include "src/cli/output.h"

#include <algorithm>
#include <ctime>

#include "lifeboat/common/yaml.h"

namespace lifeboat::cli {
namespace json = boost::json;

std::string FormatTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const Row& r) {
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], r[i].size());
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto emit = [&](const Row& r) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < r.size() ? r[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line.append(std::max<size_t>(widths[i] + 3, 6) - cell.size(), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(header);
  for (const auto& r : rows) emit(r);
  return out;
}

std::string FormatTime(const std::optional<std::string>& rfc3339) {
  if (!rfc3339 || rfc3339->empty()) return "<nil>";
  auto t = api::ParseRfc3339(*rfc3339);
  if (!t.ok()) return "<nil>";
  std::time_t tt = std::chrono::system_clock::to_time_t(*t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

std::string ShortHumanDuration(std::chrono::seconds d) {
  const int64_t s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 60) return std::to_string(s) + "s";
  if (s < 60 * 60) return std::to_string(s / 60) + "m";
  if (s < 24 * 3600) return std::to_string(s / 3600) + "h";
  if (s < 365LL * 24 * 3600) return std::to_string(s / (24 * 3600)) + "d";
  return std::to_string(s / (365LL * 24 * 3600)) + "y";
}

std::string HumanTimeFromNow(const std::optional<std::string>& rfc3339, api::TimePoint now) {
  if (!rfc3339 || rfc3339->empty()) return "n/a";
  auto t = api::ParseRfc3339(*rfc3339);
  if (!t.ok()) return "n/a";
  if (*t >= now)
    return ShortHumanDuration(std::chrono::duration_cast<std::chrono::seconds>(*t - now));
  return ShortHumanDuration(std::chrono::duration_cast<std::chrono::seconds>(now - *t)) + " ago";
}

std::string FormatSelector(const std::optional<api::LabelSelector>& selector) {
  if (!selector || selector->Empty()) return "<none>";
  return selector->ToString();
}

std::string FormatMap(const std::map<std::string, std::string>& m) {
  if (m.empty()) return "<none>";
  std::string out;
  for (const auto& [k, v] : m) out += (out.empty() ? "" : ", ") + k + "=" + v;
  return out;
}

std::string JoinOr(const std::vector<std::string>& items, std::string_view none) {
  if (items.empty()) return std::string(none);
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

namespace {

void Pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(indent, ' ');
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      size_t i = 0;
      for (const auto& kv : o) {
        out += pad + "  " + json::serialize(json::value(kv.key())) + ": ";
        Pretty(out, kv.value(), indent + 2);
        out += ++i < o.size() ? ",\n" : "\n";
      }
      out += pad + "}";
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < a.size(); ++i) {
        out += pad + "  ";
        Pretty(out, a[i], indent + 2);
        out += i + 1 < a.size() ? ",\n" : "\n";
      }
      out += pad + "]";
      return;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string PrettyJson(const json::value& v) {
  std::string out;
  Pretty(out, v, 0);
  return out + "\n";
}

StatusOr<std::string> FormatObjects(const std::vector<json::value>& objects, bool single,
                                    std::string_view format) {
  // managedFields are noise for a person (kubectl hides them too).
  std::vector<json::value> shown(objects.begin(), objects.end());
  for (auto& o : shown) {
    if (auto* md = o.is_object() ? o.as_object().if_contains("metadata") : nullptr;
        md && md->is_object()) {
      md->as_object().erase("managedFields");
    }
  }
  json::value v;
  if (single && shown.size() == 1) {
    v = shown[0];
  } else {
    json::array items(shown.begin(), shown.end());
    v = json::object{{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  }
  if (format == "json") return PrettyJson(v);
  if (format == "yaml") return JsonToYaml(v);
  return absl::InvalidArgumentError("invalid output format \"" + std::string(format) +
                                    "\"; valid values are: table, json, yaml");
}

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string part(text.substr(start, end - start));
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

StatusOr<std::map<std::string, std::string>> ParseKeyValues(std::string_view text,
                                                            std::string_view flag, char separator) {
  std::map<std::string, std::string> out;
  for (const auto& part : SplitList(text)) {
    const size_t eq = part.find(separator);
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("invalid argument \"" + std::string(text) + "\" for \"" +
                                        std::string(flag) + "\" flag: entry \"" + part +
                                        "\" is not of the form key" + separator + "value");
    }
    out[part.substr(0, eq)] = part.substr(eq + 1);
  }
  return out;
}

namespace {

std::vector<std::string> Strings(const json::value* v) {
  std::vector<std::string> out;
  if (v && v->is_array()) {
    for (const auto& e : v->get_array()) {
      if (e.is_string()) out.emplace_back(e.get_string());
    }
  }
  return out;
}

void FormatResult(std::string& o, const char* title, const json::value* r) {
  o += std::string(title) + ":\n";
  const json::object* obj = r && r->is_object() ? &r->get_object() : nullptr;
  for (const auto& [key, label] :
       {std::pair{"velero", "  Velero:     "}, std::pair{"cluster", "  Cluster:    "}}) {
    auto items = Strings(obj ? obj->if_contains(key) : nullptr);
    if (items.empty()) {
      o += std::string(label) + "<none>\n";
    } else {
      o += std::string(label) + items[0] + "\n";
      for (size_t i = 1; i < items.size(); ++i) o += "              " + items[i] + "\n";
    }
  }
  const json::value* ns = obj ? obj->if_contains("namespaces") : nullptr;
  if (!ns || !ns->is_object() || ns->get_object().empty()) {
    o += "  Namespaces: <none>\n";
    return;
  }
  o += "  Namespaces:\n";
  for (const auto& kv : ns->get_object()) {
    auto items = Strings(&kv.value());
    o += "    " + std::string(kv.key()) + ":";
    if (items.empty()) o += " <none>\n";
    for (size_t i = 0; i < items.size(); ++i) o += (i == 0 ? "   " : "      ") + items[i] + "\n";
  }
}

}  // namespace

std::string FormatResults(const json::value& results) {
  const json::object* obj = results.is_object() ? &results.get_object() : nullptr;
  std::string o;
  FormatResult(o, "Errors", obj ? obj->if_contains("errors") : nullptr);
  o += "\n";
  FormatResult(o, "Warnings", obj ? obj->if_contains("warnings") : nullptr);
  return o;
}

std::string FormatResourceList(const json::value& list) {
  std::string o = "Resource List:\n";
  if (!list.is_object() || list.get_object().empty()) return o + "  <none>\n";
  for (const auto& kv : list.get_object()) {
    o += "  " + std::string(kv.key()) + ":\n";
    for (const auto& item : Strings(&kv.value())) o += "    - " + item + "\n";
  }
  return o;
}

}  // namespace lifeboat::cli
