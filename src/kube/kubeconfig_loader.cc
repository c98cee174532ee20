// Reading and merging kubeconfig files (client-go tools/clientcmd/loader.go semantics), and
// `kubectl config view --flatten` output.

#include <cstdlib>
#include <set>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "lifeboat/common/byte_stream.h"
#include "lifeboat/common/log.h"
#include "lifeboat/common/yaml.h"
#include "lifeboat/kube/config.h"
#include "src/kube/kubeconfig_internal.h"

namespace lifeboat::kube {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr size_t kMaxKubeconfigBytes = 16u << 20;

std::string Quoted(const fs::path& p) { return "\"" + p.string() + "\""; }

// Adds the entries of one named list (clusters / users / contexts) of one file; within a file a
// later duplicate replaces an earlier one (Go's list-to-map conversion), across files the first
// file wins (caller checks `merged` before inserting).
Status MergeNamedList(const json::object& file, std::string_view list_key,
                      std::string_view item_key, const fs::path& origin,
                      std::map<std::string, Kubeconfig::Entry>* merged) {
  const json::value* list = file.if_contains(list_key);
  if (list == nullptr || list->is_null()) return absl::OkStatus();
  if (!list->is_array()) {
    return absl::InvalidArgumentError(std::string(list_key) + " must be a list");
  }
  std::map<std::string, Kubeconfig::Entry> in_file;
  for (const json::value& item : list->as_array()) {
    if (!item.is_object()) {
      return absl::InvalidArgumentError("every entry of " + std::string(list_key) +
                                        " must be a mapping");
    }
    const json::value* name = item.as_object().if_contains("name");
    if (name == nullptr || !name->is_string()) {
      return absl::InvalidArgumentError("an entry of " + std::string(list_key) + " has no name");
    }
    Kubeconfig::Entry entry;
    entry.origin = origin;
    if (const json::value* v = item.as_object().if_contains(item_key);
        v != nullptr && !v->is_null()) {
      if (!v->is_object()) {
        return absl::InvalidArgumentError(std::string(list_key) + " entry \"" +
                                          std::string(name->as_string()) +
                                          "\": " + std::string(item_key) + " must be a mapping");
      }
      entry.value = v->as_object();
    }
    in_file[std::string(name->as_string())] = std::move(entry);
  }
  for (auto& [name, entry] : in_file) merged->try_emplace(name, std::move(entry));
  return absl::OkStatus();
}

// Parses one file and merges it under the entries already in `config` (earlier files win).
Status MergeFile(const fs::path& path, Kubeconfig* config) {
  auto wrap = [&](const Status& s) {
    return Status(s.code(),
                  "error loading config file " + Quoted(path) + ": " + std::string(s.message()));
  };
  StatusOr<std::string> text = ReadFile(path, kMaxKubeconfigBytes);
  if (!text.ok()) return wrap(text.status());
  StatusOr<json::value> doc = YamlToJson(*text);
  if (!doc.ok()) return wrap(doc.status());
  if (doc->is_null()) return absl::OkStatus();  // an empty file is an empty config
  if (!doc->is_object()) return wrap(absl::InvalidArgumentError("the document is not a mapping"));
  const json::object& obj = doc->as_object();
  fs::path origin = fs::absolute(path).lexically_normal();
  LIFEBOAT_RETURN_IF_ERROR(
      Annotate(MergeNamedList(obj, "clusters", "cluster", origin, &config->clusters),
               "error loading config file " + Quoted(path)));
  LIFEBOAT_RETURN_IF_ERROR(Annotate(MergeNamedList(obj, "users", "user", origin, &config->users),
                                    "error loading config file " + Quoted(path)));
  LIFEBOAT_RETURN_IF_ERROR(
      Annotate(MergeNamedList(obj, "contexts", "context", origin, &config->contexts),
               "error loading config file " + Quoted(path)));
  if (const json::value* cc = obj.if_contains("current-context"); cc != nullptr && !cc->is_null()) {
    if (!cc->is_string())
      return wrap(absl::InvalidArgumentError("current-context must be a string"));
    if (config->current_context.empty()) config->current_context = std::string(cc->as_string());
  }
  config->files.push_back(path);
  return absl::OkStatus();
}

std::string Getenv(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

fs::path ResolveAgainstOrigin(const std::string& path, const fs::path& origin) {
  if (path.empty()) return fs::path();
  fs::path p(path);
  if (p.is_absolute()) return p;
  return (origin.parent_path() / p).lexically_normal();
}

StatusOr<std::string> ReadReferencedFile(const fs::path& path, std::string_view what,
                                         std::string_view owner) {
  StatusOr<std::string> data = ReadFile(path, kMaxKubeconfigBytes);
  if (!data.ok()) {
    return Status(data.status().code(), "unable to read " + std::string(what) + " " +
                                            path.string() + " for " + std::string(owner) +
                                            " due to " + std::string(data.status().message()));
  }
  return data;
}

std::vector<fs::path> KubeconfigPrecedence(const KubeconfigOptions& options) {
  std::vector<fs::path> files;
  if (!options.explicit_path.empty()) return {options.explicit_path};
  std::string env =
      options.kubeconfig_env.has_value() ? *options.kubeconfig_env : Getenv("KUBECONFIG");
  if (!env.empty()) {
    std::set<std::string> seen;
    for (absl::string_view part : absl::StrSplit(env, ':')) {
      if (part.empty() || !seen.insert(std::string(part)).second) continue;
      files.emplace_back(std::string(part));
    }
    return files;
  }
  if (options.default_path.has_value()) {
    files.push_back(*options.default_path);
  } else if (std::string home = Getenv("HOME"); !home.empty()) {
    files.push_back(fs::path(home) / ".kube" / "config");
  }
  return files;
}

StatusOr<Kubeconfig> LoadMergedKubeconfig(const KubeconfigOptions& options) {
  Kubeconfig config;
  if (!options.explicit_path.empty()) {
    std::error_code ec;
    if (!fs::exists(options.explicit_path, ec)) {
      return absl::NotFoundError(
          "stat " + options.explicit_path.string() +
          ": no such file or directory (the kubeconfig given with --kubeconfig)");
    }
  }
  for (const fs::path& file : KubeconfigPrecedence(options)) {
    std::error_code ec;
    fs::file_status st = fs::status(file, ec);
    if (st.type() == fs::file_type::not_found) {
      LB_LOG_DEBUG("kubeconfig {} does not exist; skipped", file.string());
      continue;
    }
    if (ec) {
      return absl::PermissionDeniedError("error loading config file " + Quoted(file) + ": " +
                                         ec.message());
    }
    LIFEBOAT_RETURN_IF_ERROR(MergeFile(file, &config));
  }
  return config;
}

namespace {

// Replaces `path_key` (relative to the entry's file) by `data_key` holding the file's content in
// base64, as clientcmd's FlattenContent does.
Status InlineFile(json::object& obj, std::string_view path_key, std::string_view data_key,
                  const fs::path& origin, const std::string& owner) {
  const json::value* p = obj.if_contains(path_key);
  if (p == nullptr || !p->is_string() || p->as_string().empty()) return absl::OkStatus();
  fs::path resolved = ResolveAgainstOrigin(std::string(p->as_string()), origin);
  LIFEBOAT_ASSIGN_OR_RETURN(std::string content, ReadReferencedFile(resolved, path_key, owner));
  obj[data_key] = json::string(absl::Base64Escape(content));
  obj.erase(path_key);
  return absl::OkStatus();
}

// The defaults client-go's v1 types print for an exec entry.
void NormalizeExec(json::object& user) {
  json::value* exec = user.if_contains("exec");
  if (exec == nullptr || !exec->is_object()) return;
  json::object& e = exec->as_object();
  if (!e.contains("args")) e["args"] = nullptr;
  if (!e.contains("env")) e["env"] = nullptr;
  if (!e.contains("provideClusterInfo")) e["provideClusterInfo"] = false;
  const json::value* version = e.if_contains("apiVersion");
  bool beta = version != nullptr && version->is_string() &&
              (version->as_string() == "client.authentication.k8s.io/v1beta1" ||
               version->as_string() == "client.authentication.k8s.io/v1alpha1");
  if (beta && !e.contains("interactiveMode")) e["interactiveMode"] = "IfAvailable";
}

}  // namespace

StatusOr<json::value> FlattenKubeconfig(const Kubeconfig& config) {
  json::object out;
  out["kind"] = "Config";
  out["apiVersion"] = "v1";
  out["preferences"] = json::object();
  json::array clusters, users, contexts;
  for (const auto& [name, entry] : config.clusters) {
    json::object c = entry.value;
    LIFEBOAT_RETURN_IF_ERROR(
        InlineFile(c, "certificate-authority", "certificate-authority-data", entry.origin, name));
    clusters.push_back(json::object{{"name", json::string(name)}, {"cluster", std::move(c)}});
  }
  for (const auto& [name, entry] : config.users) {
    json::object u = entry.value;
    LIFEBOAT_RETURN_IF_ERROR(
        InlineFile(u, "client-certificate", "client-certificate-data", entry.origin, name));
    LIFEBOAT_RETURN_IF_ERROR(InlineFile(u, "client-key", "client-key-data", entry.origin, name));
    NormalizeExec(u);
    users.push_back(json::object{{"name", json::string(name)}, {"user", std::move(u)}});
  }
  for (const auto& [name, entry] : config.contexts) {
    contexts.push_back(json::object{{"name", json::string(name)}, {"context", entry.value}});
  }
  out["clusters"] = std::move(clusters);
  out["users"] = std::move(users);
  out["contexts"] = std::move(contexts);
  out["current-context"] = json::string(config.current_context);
  return json::value(std::move(out));
}

}  // namespace lifeboat::kube
