// `lifeboat install` and `lifeboat uninstall`: the command lines of src/cli/install.h, with
// Velero's flag names and defaults (docs/install.md).

#include "tools/lifeboat/install_command.h"

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "lifeboat/kube/config.h"
#include "lifeboat/kube/discovery.h"
#include "lifeboat/kube/dynamic_client.h"
#include "lifeboat/kube/rest_client.h"
#include "src/cli/client_config.h"
#include "src/cli/install.h"

namespace lifeboat::cli {
namespace {

constexpr auto kDeploymentTimeout = std::chrono::minutes(3);  // Velero's --wait

struct Connection {
  std::unique_ptr<kube::RestClient> rest;
  std::unique_ptr<kube::Discovery> discovery;
  std::unique_ptr<kube::DynamicClient> client;
};

struct ClusterArgs {
  std::string kubeconfig, context;
};

StatusOr<Connection> Connect(const ClusterArgs& args) {
  LIFEBOAT_ASSIGN_OR_RETURN(auto config, kube::LoadRestConfig({.explicit_path = args.kubeconfig,
                                                               .context = args.context}));
  Connection c;
  LIFEBOAT_ASSIGN_OR_RETURN(c.rest, kube::RestClient::Create(config));
  c.discovery = std::make_unique<kube::Discovery>(c.rest.get());
  c.client = std::make_unique<kube::DynamicClient>(c.rest.get(), c.discovery.get());
  return c;
}

int Failed(const Status& status, const std::string& hint = "") {
  std::fprintf(stderr, "lifeboat: %s\n", std::string(status.message()).c_str());
  if (!hint.empty()) std::fprintf(stderr, "%s\n", hint.c_str());
  return 1;
}

struct InstallCommand {
  InstallFlags flags;
  ClusterArgs cluster;
  bool wait = false;
};

int RunInstall(const InstallCommand& cmd) {
  std::vector<std::string> notes;
  auto options = ResolveInstallFlags(cmd.flags, &notes);
  if (!options.ok()) return Failed(options.status());
  for (const auto& note : notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  std::vector<boost::json::value> objects = BuildInstallObjects(*options);
  // --dry-run without -o prints YAML (Velero prints nothing, which helps nobody).
  std::string output = cmd.flags.output;
  if (output.empty() && cmd.flags.dry_run) output = "yaml";
  if (output == "yaml") std::cout << ObjectsAsYaml(objects) << std::flush;
  if (output == "json") std::cout << ObjectsAsJsonList(objects) << std::flush;
  if (cmd.flags.dry_run) return 0;

  // With -o the objects went to stdout; progress goes to stderr so that stdout stays a document.
  std::ostream& progress = output.empty() ? std::cout : std::cerr;
  const std::string hint =
      "Installing Lifeboat failed. Once the Deployment exists, `kubectl logs "
      "deployment/velero -n " +
      options->ns + "` shows the server's logs.";
  auto conn = Connect(cmd.cluster);
  if (!conn.ok()) return Failed(conn.status());
  if (Status s = ApplyInstallObjects(*conn->client, objects, progress); !s.ok()) {
    return Failed(s, hint);
  }
  if (cmd.wait && !options->crds_only) {
    progress << "Waiting for the Lifeboat deployment to be ready.\n" << std::flush;
    Status s = WaitForDeploymentAvailable(
        *conn->client, options->ns, "velero",
        std::chrono::duration_cast<std::chrono::milliseconds>(kDeploymentTimeout), progress);
    if (!s.ok()) return Failed(s, hint);
  }
  if (options->crds_only) {
    progress << "The Lifeboat CustomResourceDefinitions are installed.\n";
    return 0;
  }
  if (!options->secret_data) progress << "\nNo secret file was specified, no Secret created.\n\n";
  if (!options->default_backup_location) {
    progress << "\nNo bucket and provider were specified, no default backup storage location "
                "created.\n\n";
  }
  progress << "Lifeboat is installed! Use 'kubectl logs deployment/velero -n " << options->ns
           << "' to view the status.\n"
           << std::flush;
  return 0;
}

void AddInstall(CLI::App& app, int* exit_code) {
  auto cmd = std::make_shared<InstallCommand>();
  InstallFlags& f = cmd->flags;
  auto* c = app.add_subcommand("install", "Install Lifeboat (Velero-compatible) into a cluster");
  c->footer(
      "Creates the velero.io CRDs, the namespace, RBAC, service account, credentials Secret,\n"
      "the default BackupStorageLocation and VolumeSnapshotLocation, and the server Deployment.\n"
      "Re-running it updates what changed. See docs/install.md.\n\n"
      "Example:\n  lifeboat install --provider azure --bucket backups --secret-file ./credentials "
      "\\\n"
      "    --backup-location-config resourceGroup=rg,storageAccount=acct");
  auto multi = [](CLI::Option* o) {
    o->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  c->add_option("--provider", f.provider,
                "Provider of the backup and volume storage (aws, azure, gcp, local)");
  c->add_option("--bucket", f.bucket,
                "Object storage bucket (Azure: blob container) where backups go");
  c->add_option("--prefix", f.prefix, "Prefix under which all data is stored within the bucket");
  c->add_option(
      "--secret-file", f.secret_file,
      "File with the provider's credentials; becomes Secret cloud-credentials (key cloud)");
  c->add_flag("--no-secret", f.no_secret,
              "Create no credentials Secret (confirms --secret-file is absent)");
  c->add_flag("--no-default-backup-location", f.no_default_backup_location,
              "Create no default BackupStorageLocation (then --bucket/--prefix must be empty)");
  multi(c->add_option("--backup-location-config", f.backup_location_config,
                      "Configuration of the backup storage location: key1=value1,key2=value2"));
  multi(c->add_option("--snapshot-location-config", f.snapshot_location_config,
                      "Configuration of the volume snapshot location: key1=value1,key2=value2"));
  c->add_flag("--use-volume-snapshots", f.use_volume_snapshots,
              "Create the default VolumeSnapshotLocation (--use-volume-snapshots=false: none)")
      ->capture_default_str();
  c->add_flag("--use-node-agent", f.use_node_agent,
              "Accepted; the node-agent is not available yet");
  c->add_flag("--default-volumes-to-fs-backup", f.default_volumes_to_fs_backup,
              "Accepted with --use-node-agent; no effect until the node-agent is available");
  multi(c->add_option("--plugins", f.plugins, "Accepted and ignored: the providers are built in"));
  c->add_option("-n,--namespace", f.ns, "Namespace to install into")->capture_default_str();
  c->add_option("--image", f.image, "Server image")->capture_default_str();
  c->add_option("--velero-pod-cpu-request", f.cpu_request,
                "CPU request of the server pod (\"0\": none)")
      ->capture_default_str();
  c->add_option("--velero-pod-mem-request", f.mem_request,
                "Memory request of the server pod (\"0\": none)")
      ->capture_default_str();
  c->add_option("--velero-pod-cpu-limit", f.cpu_limit, "CPU limit of the server pod (\"0\": none)")
      ->capture_default_str();
  c->add_option("--velero-pod-mem-limit", f.mem_limit,
                "Memory limit of the server pod (\"0\": none)")
      ->capture_default_str();
  multi(c->add_option("--pod-labels", f.pod_labels,
                      "Labels of the server pod: key1=value1,key2=value2"));
  multi(c->add_option("--pod-annotations", f.pod_annotations,
                      "Annotations of the server pod: key1=value1,key2=value2"));
  multi(
      c->add_option("--sa-annotations", f.sa_annotations,
                    "Annotations of the ServiceAccount (e.g. workload identity): key1=value1,..."));
  c->add_option("--cacert", f.cacert_file, "CA bundle for TLS to the object store (BSL caCert)");
  c->add_option("--garbage-collection-frequency", f.garbage_collection_frequency,
                "How often the server looks for expired backups (default: the server's, 1h)");
  c->add_option("--rbac", f.rbac,
                "cluster-admin (Velero's), or least-privilege: only the verbs the server uses")
      ->capture_default_str();
  c->add_flag("--crds-only", f.crds_only, "Only the CustomResourceDefinitions");
  c->add_flag("--dry-run", f.dry_run, "Print the objects (YAML unless -o json); touch no cluster");
  c->add_option("-o,--output", f.output, "Print the objects as yaml or json");
  c->add_flag("--wait", cmd->wait,
              "Wait until the server Deployment is available (up to 3 minutes)");
  c->add_option("--kubeconfig", cmd->cluster.kubeconfig,
                "kubeconfig file (default: KUBECONFIG, ~/.kube/config)");
  c->add_option("--context,--kubecontext", cmd->cluster.context, "kubeconfig context");
  // Without -n, the namespace comes from `lifeboat client config` / $VELERO_NAMESPACE, as
  // Velero's install reads it.
  c->callback([c, cmd, exit_code] {
    if (c->count("--namespace") == 0) cmd->flags.ns = DefaultClientNamespace();
    *exit_code = RunInstall(*cmd);
  });
}

struct UninstallCommand {
  std::string ns = "velero";
  bool force = false, wait = false;
  ClusterArgs cluster;
};

int RunUninstall(const UninstallCommand& cmd) {
  if (cmd.wait) {
    std::cout << "note: --wait is accepted for compatibility; uninstall always waits for the "
                 "namespace to be deleted.\n";
  }
  if (!cmd.force) {
    std::cout << "You are about to uninstall Lifeboat from namespace \"" << cmd.ns
              << "\": the namespace, its RBAC and the velero.io CustomResourceDefinitions (with "
                 "every Backup, Restore and Schedule object) will be deleted.\n"
                 "Are you sure you want to continue (Y/N)? "
              << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "y" && answer != "Y" && answer != "yes") {
      std::cout << "Uninstall cancelled (nothing was deleted; --force skips this question).\n";
      return 0;  // as Velero: declining is not an error
    }
  }
  auto conn = Connect(cmd.cluster);
  if (!conn.ok()) return Failed(conn.status());
  Status s = Uninstall(*conn->client, cmd.ns, std::cout);
  if (!s.ok())
    return Failed(s, "Lifeboat is partly uninstalled; run the command again after fixing this.");
  std::cout << "Lifeboat uninstalled.\n";
  return 0;
}

void AddUninstall(CLI::App& app, int* exit_code) {
  auto cmd = std::make_shared<UninstallCommand>();
  auto* c =
      app.add_subcommand("uninstall", "Remove Lifeboat (namespace, RBAC and CRDs) from a cluster");
  c->add_option("-n,--namespace", cmd->ns, "Namespace Lifeboat is installed in")
      ->capture_default_str();
  c->add_flag("--force", cmd->force, "Do not ask for confirmation");
  c->add_flag("--wait", cmd->wait, "Accepted for compatibility (uninstall always waits)");
  c->add_option("--kubeconfig", cmd->cluster.kubeconfig,
                "kubeconfig file (default: KUBECONFIG, ~/.kube/config)");
  c->add_option("--context,--kubecontext", cmd->cluster.context, "kubeconfig context");
  c->callback([c, cmd, exit_code] {
    if (c->count("--namespace") == 0) cmd->ns = DefaultClientNamespace();
    *exit_code = RunUninstall(*cmd);
  });
}

}  // namespace

void AddInstallCommands(CLI::App& app, int* exit_code) {
  AddInstall(app, exit_code);
  AddUninstall(app, exit_code);
}

}  // namespace lifeboat::cli
