#include "src/cli/client_config.h"

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "lifeboat/common/json.h"

namespace lifeboat::cli {
namespace json = boost::json;

namespace {

bool KnownKey(const std::string& key) {
  return key == "namespace" || key == "features" || key == "colorized" || key == "cacert";
}

}  // namespace

std::string ClientConfigPath() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "";
  return (std::filesystem::path(home) / ".config" / "velero" / "config.json").string();
}

StatusOr<std::map<std::string, std::string>> LoadClientConfig(const std::string& path) {
  std::map<std::string, std::string> out;
  if (path.empty()) return out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::PermissionDeniedError("cannot read the client config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return out;
  auto parsed = ParseJson(text);
  if (!parsed.ok() || !parsed->is_object()) {
    return absl::InvalidArgumentError(
        "the client config file " + path +
        " is not a JSON object; fix or remove it (lifeboat client config set KEY=VALUE "
        "rewrites it)");
  }
  for (const auto& [k, v] : parsed->as_object()) {
    out[std::string(k)] = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
  }
  return out;
}

Status SaveClientConfig(const std::string& path, const std::map<std::string, std::string>& config) {
  if (path.empty()) {
    return absl::FailedPreconditionError("HOME is not set: no place for the client config file");
  }
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  if (ec)
    return absl::PermissionDeniedError("creating the directory of " + path + ": " + ec.message());
  json::object o;
  for (const auto& [k, v] : config) o[k] = v;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << json::serialize(o) << "\n";
    out.close();
    if (!out)
      return absl::PermissionDeniedError("writing the client config file " + path + " failed");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec)
    return absl::PermissionDeniedError("writing the client config file " + path + ": " +
                                       ec.message());
  return absl::OkStatus();
}

Status ApplyConfigAssignments(const std::vector<std::string>& args,
                              std::map<std::string, std::string>* config,
                              std::vector<std::string>* warnings) {
  if (args.empty())
    return absl::InvalidArgumentError("at least one KEY=VALUE argument is required");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& a : args) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError("invalid KEY=VALUE argument \"" + a +
                                        "\" (for example: namespace=backup-system; an empty "
                                        "value removes the key)");
    }
    pairs.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  for (const auto& [k, v] : pairs) {
    if (!KnownKey(k) && warnings) {
      warnings->push_back("\"" + k +
                          "\" is not a key lifeboat or Velero reads (namespace, features, "
                          "colorized, cacert); stored anyway");
    }
    if (v.empty()) {
      config->erase(k);
    } else {
      (*config)[k] = v;
    }
  }
  return absl::OkStatus();
}

std::string FormatClientConfig(const std::map<std::string, std::string>& config,
                               const std::vector<std::string>& keys) {
  std::string o;
  if (keys.empty()) {
    for (const auto& [k, v] : config) o += k + ": " + v + "\n";
    return o;
  }
  for (const auto& k : keys) {
    auto it = config.find(k);
    o += k + ": " + (it == config.end() ? std::string("<NOT SET>") : it->second) + "\n";
  }
  return o;
}

const std::string& DefaultClientNamespace() {
  static const std::string ns = [] {
    auto config = LoadClientConfig(ClientConfigPath());
    if (!config.ok()) {
      std::fprintf(stderr, "Warning: ignoring the client config: %s\n",
                   std::string(config.status().message()).c_str());
    } else if (auto it = config->find("namespace"); it != config->end() && !it->second.empty()) {
      return it->second;
    }
    const char* env = std::getenv("VELERO_NAMESPACE");
    if (env != nullptr && *env != '\0') return std::string(env);
    return std::string("velero");
  }();
  return ns;
}

namespace {

int RunConfigGet(const std::vector<std::string>& keys) {
  const std::string path = ClientConfigPath();
  auto config = LoadClientConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "An error occurred: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  std::fputs(FormatClientConfig(*config, keys).c_str(), stdout);
  return 0;
}

int RunConfigSet(const std::vector<std::string>& args) {
  const std::string path = ClientConfigPath();
  auto config = LoadClientConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "An error occurred: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  std::vector<std::string> warnings;
  if (auto s = ApplyConfigAssignments(args, &*config, &warnings); !s.ok()) {
    std::fprintf(stderr, "An error occurred: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  for (const auto& w : warnings) std::fprintf(stderr, "Warning: %s\n", w.c_str());
  if (auto s = SaveClientConfig(path, *config); !s.ok()) {
    std::fprintf(stderr, "An error occurred: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void AddClientConfigCommands(CLI::App& app, int* exit_code) {
  auto* client = app.add_subcommand("client", "Client-side settings");
  client->require_subcommand(1);
  auto* config = client->add_subcommand(
      "config", "Get and set client configuration file values ($HOME/.config/velero/config.json)");
  config->require_subcommand(1);
  {
    auto keys = std::make_shared<std::vector<std::string>>();
    auto* cmd = config->add_subcommand("get", "Print client configuration values");
    cmd->add_option("keys", *keys, "keys to print (default: all): namespace, features, ...");
    cmd->callback([=] { *exit_code = RunConfigGet(*keys); });
  }
  {
    auto args = std::make_shared<std::vector<std::string>>();
    auto* cmd = config->add_subcommand(
        "set", "Set client configuration values (KEY=VALUE; an empty VALUE removes the key)");
    cmd->add_option("assignments", *args, "KEY=VALUE pairs, e.g. namespace=backup-system")
        ->required();
    cmd->callback([=] { *exit_code = RunConfigSet(*args); });
  }
}

}  // namespace lifeboat::cli
