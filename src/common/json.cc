#include "lifeboat/common/json.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace lifeboat {
namespace json = boost::json;

StatusOr<json::value> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return absl::InvalidArgumentError("invalid JSON: document is larger than " + std::to_string(limits.max_bytes) +
                                      " bytes");
  }
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::stream_parser p(json::storage_ptr(), opts);
  boost::system::error_code ec;
  size_t consumed = p.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(consumed) +
                                      ": unexpected data after the document");
  }
  if (!ec) p.finish(ec);
  if (ec) {
    return absl::InvalidArgumentError("invalid JSON at offset " + std::to_string(consumed) + ": " + ec.message());
  }
  return p.release();
}

const json::value* JsonFind(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (std::string_view key : path) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->get_object().find(key);
    if (it == cur->get_object().end()) return nullptr;
    cur = &it->value();
  }
  return cur;
}

std::optional<std::string> JsonString(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = JsonFind(v, path);
  if (f == nullptr || !f->is_string()) return std::nullopt;
  return std::string(f->get_string());
}

std::optional<int64_t> JsonInt(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = JsonFind(v, path);
  if (f == nullptr) return std::nullopt;
  if (f->is_int64()) return f->get_int64();
  if (f->is_uint64() && f->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(f->get_uint64());
  }
  if (f->is_double()) {
    double d = f->get_double();
    if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.2e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<bool> JsonBool(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* f = JsonFind(v, path);
  if (f == nullptr || !f->is_bool()) return std::nullopt;
  return f->get_bool();
}

namespace {

void Canonical(const json::value& v, std::string& out) {
  if (v.is_object()) {
    std::vector<const json::key_value_pair*> members;
    for (const auto& kv : v.get_object()) members.push_back(&kv);
    std::sort(members.begin(), members.end(),
              [](const json::key_value_pair* a, const json::key_value_pair* b) { return a->key() < b->key(); });
    out.push_back('{');
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out.push_back(',');
      out += json::serialize(json::value(json::string(members[i]->key())));
      out.push_back(':');
      Canonical(members[i]->value(), out);
    }
    out.push_back('}');
  } else if (v.is_array()) {
    out.push_back('[');
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out.push_back(',');
      first = false;
      Canonical(item, out);
    }
    out.push_back(']');
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::string CanonicalJson(const json::value& v) {
  std::string out;
  Canonical(v, out);
  return out;
}

}  // namespace lifeboat
