#include "kubesim/src/server/request_info.h"

#include <algorithm>

namespace kubesim {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::tolower);
  return s;
}

}  // namespace

RequestInfo ParseRequestInfo(const lifeboat::http::Request& request) {
  RequestInfo info;
  info.verb = Lower(request.method);
  std::vector<std::string> parts = Split(request.path);
  if (parts.empty() || (parts[0] != "api" && parts[0] != "apis")) return info;
  info.api_prefix = parts[0];
  parts.erase(parts.begin());
  if (info.api_prefix == "apis") {
    if (parts.empty()) return info;
    info.group = parts[0];
    parts.erase(parts.begin());
  }
  if (parts.empty()) return info;
  info.version = parts[0];
  parts.erase(parts.begin());
  if (parts.empty()) return info;  // discovery of a group version
  info.is_resource_request = true;
  bool legacy_watch = false;
  if (parts[0] == "watch") {
    legacy_watch = true;
    parts.erase(parts.begin());
  }
  if (!parts.empty() && parts[0] == "namespaces") {
    if (parts.size() > 1) {
      info.namespace_ = parts[1];
      // namespaces/<name>/status and /finalize are subresources of the namespace itself.
      if (parts.size() > 2 && parts[2] != "status" && parts[2] != "finalize") {
        parts.erase(parts.begin(), parts.begin() + 2);
      }
    }
  }
  info.parts = parts;
  if (!parts.empty()) info.resource = parts[0];
  if (parts.size() > 1) info.name = parts[1];
  if (parts.size() > 2) info.subresource = parts[2];
  if (info.resource == "namespaces" && !info.namespace_.empty() && info.name.empty()) {
    info.name = info.namespace_;
  }
  if (info.resource == "namespaces") info.namespace_.clear();

  const std::string method = request.method;
  const std::string watch = request.Query("watch");
  bool is_watch = legacy_watch || QueryTrue(watch);
  if (method == "GET" || method == "HEAD") {
    if (is_watch) info.verb = "watch";
    else info.verb = info.name.empty() ? "list" : "get";
  } else if (method == "POST") {
    info.verb = "create";
  } else if (method == "PUT") {
    info.verb = "update";
  } else if (method == "PATCH") {
    info.verb = "patch";
  } else if (method == "DELETE") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  }
  return info;
}

}  // namespace kubesim
