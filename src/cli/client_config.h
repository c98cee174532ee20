#pragma once

// Velero's client configuration file, which `lifeboat client config get|set` reads and writes
// (docs/cli.md): $HOME/.config/velero/config.json, a JSON object of string values. Velero and
// lifeboat share it, so `velero client config set namespace=x` also applies to lifeboat.
//
// Keys Velero knows: `namespace` (the default of every client command's -n/--namespace),
// `features`, `colorized`, `cacert`. Lifeboat uses `namespace`; the others are kept for Velero.
// Like Velero, the path is not configurable (no environment variable), and the namespace
// default is: --namespace flag > `namespace` in the file > $VELERO_NAMESPACE > "velero".
//
// Thread safety: the functions touch the file system and the environment; call them from the
// main thread.

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "lifeboat/common/status.h"

namespace lifeboat::cli {

// $HOME/.config/velero/config.json ("" when HOME is unset).
std::string ClientConfigPath();

// The file's keys and values. A missing file is an empty map (as in Velero). Non-string values
// are kept as their JSON text. InvalidArgument naming the file when it is not a JSON object;
// the read error otherwise.
StatusOr<std::map<std::string, std::string>> LoadClientConfig(const std::string& path);

// Writes `config` as a JSON object (creating the directory). Error naming the file on failure.
Status SaveClientConfig(const std::string& path, const std::map<std::string, std::string>& config);

// Applies "KEY=VALUE" arguments as Velero does: an empty value removes the key. InvalidArgument
// for an argument without '=' or with an empty key (nothing is applied then). `warnings` gets a
// line for each key neither lifeboat nor Velero reads.
Status ApplyConfigAssignments(const std::vector<std::string>& args,
                              std::map<std::string, std::string>* config,
                              std::vector<std::string>* warnings);

// `client config get` output: "key: value" per line, all keys sorted when `keys` is empty,
// otherwise the given keys in order with "<NOT SET>" for absent ones (Velero's format).
std::string FormatClientConfig(const std::map<std::string, std::string>& config,
                               const std::vector<std::string>& keys);

// The default of -n/--namespace: `namespace` from the config file, else $VELERO_NAMESPACE,
// else "velero". Read once per process; an unreadable file prints one warning to stderr and is
// ignored.
const std::string& DefaultClientNamespace();

// `lifeboat client config get [KEY...]` and `lifeboat client config set KEY=VALUE...`.
void AddClientConfigCommands(CLI::App& app, int* exit_code);

}  // namespace lifeboat::cli
