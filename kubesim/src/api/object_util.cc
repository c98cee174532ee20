#include "kubesim/src/api/object_util.h"

#include <openssl/rand.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace kubesim {

namespace json = boost::json;

std::string MetaString(const json::value& obj, std::string_view key) {
  const json::object* meta = MetaIfAny(obj);
  if (meta == nullptr) return "";
  auto it = meta->find(key);
  return it != meta->end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

json::object& Meta(json::value& obj) {
  auto& m = obj.as_object()["metadata"];
  if (!m.is_object()) m = json::object();
  return m.as_object();
}

const json::object* MetaIfAny(const json::value& obj) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.as_object().find("metadata");
  return it != obj.as_object().end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

const json::object* Labels(const json::value& obj) {
  const json::object* meta = MetaIfAny(obj);
  if (meta == nullptr) return nullptr;
  auto it = meta->find("labels");
  return it != meta->end() && it->value().is_object() ? &it->value().as_object() : nullptr;
}

std::vector<std::string> Finalizers(const json::value& obj) {
  std::vector<std::string> out;
  const json::object* meta = MetaIfAny(obj);
  if (meta == nullptr) return out;
  auto it = meta->find("finalizers");
  if (it == meta->end() || !it->value().is_array()) return out;
  for (const auto& f : it->value().as_array()) {
    if (f.is_string()) out.emplace_back(f.as_string());
  }
  return out;
}

void SetFinalizers(json::value& obj, const std::vector<std::string>& finalizers) {
  json::object& meta = Meta(obj);
  if (finalizers.empty()) {
    meta.erase("finalizers");
    return;
  }
  json::array arr;
  for (const auto& f : finalizers) arr.emplace_back(f);
  meta["finalizers"] = std::move(arr);
}

bool HasFinalizer(const json::value& obj, std::string_view finalizer) {
  for (const auto& f : Finalizers(obj)) {
    if (f == finalizer) return true;
  }
  return false;
}

std::string NewUid() {
  unsigned char b[16];
  RAND_bytes(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

std::string RandomSuffix(size_t n) {
  static constexpr char kAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  unsigned char b[64];
  RAND_bytes(b, static_cast<int>(std::min(n, sizeof(b))));
  for (size_t i = 0; i < n && i < sizeof(b); ++i) out.push_back(kAlphabet[b[i] % (sizeof(kAlphabet) - 1)]);
  return out;
}

std::string NowRfc3339() {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void NormalizeKeyOrder(json::value& obj) {
  if (!obj.is_object()) return;
  json::object& o = obj.as_object();
  json::object out(o.storage());
  out.reserve(o.size());
  for (const char* k : {"apiVersion", "kind", "metadata"}) {
    if (auto it = o.find(k); it != o.end()) out.emplace(k, std::move(it->value()));
  }
  for (auto& kv : o) {
    if (kv.key() == "apiVersion" || kv.key() == "kind" || kv.key() == "metadata") continue;
    out.emplace(kv.key(), std::move(kv.value()));
  }
  o = std::move(out);
}

void SplitApiVersion(std::string_view api_version, std::string& group, std::string& version) {
  size_t slash = api_version.find('/');
  if (slash == std::string_view::npos) {
    group.clear();
    version = std::string(api_version);
  } else {
    group = std::string(api_version.substr(0, slash));
    version = std::string(api_version.substr(slash + 1));
  }
}

}  // namespace kubesim
