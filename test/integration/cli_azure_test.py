#!/usr/bin/python3
"""The CLI as a user drives it against Azure Blob (Azurite) — issue 9's "+ Azurite" end to end:

  cli_azure_test.py KUBESIM LIFEBOAT PRINT_CRDS

`lifeboat install --provider azure --secret-file ...` on an empty kubesim, `lifeboat server`,
`backup-location get` (Available), `backup create --wait`, `backup describe`, `backup logs`,
the namespace deleted, `restore create --wait`, the objects back; then Azurite stopped:
`backup-location get` says Unavailable and why, `backup create --wait` fails with the reason and
a non-zero exit code, and no credential appears in any output or log.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_acceptance_test as sat  # noqa: E402  (same argv: KUBESIM LIFEBOAT PRINT_CRDS)
from server_acceptance_test import Azurite, Kubesim, SkipCase, free_port, log, spawn, wait_for  # noqa: E402

LIFEBOAT = sat.LIFEBOAT
NS = sat.NS


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


class Cli:
    def __init__(self, work, kubeconfig):
        self.work, self.kubeconfig = work, kubeconfig
        self.outputs = []

    def run(self, *args, timeout=300):
        cmd = [LIFEBOAT, *args, "--kubeconfig", self.kubeconfig]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        log("$ lifeboat %s -> %d\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                            ("stderr: " + r.stderr) if r.stderr else ""))
        self.outputs.append(r.stdout + r.stderr)
        return r.returncode, r.stdout, r.stderr


def bare_kubesim(work, name):
    """kubesim without Velero's CRDs or namespace: `lifeboat install` makes them."""
    k = Kubesim.__new__(Kubesim)
    k.dir = os.path.join(work, name)
    os.makedirs(k.dir, exist_ok=True)
    k.kubeconfig = os.path.join(k.dir, "kubeconfig")
    k.launch()
    return k


def run(work):
    try:
        az = Azurite(work)
    except SkipCase as e:
        print("skip: %s" % e)
        return
    k = bare_kubesim(work, "k1")
    server = None
    cli = Cli(work, k.kubeconfig)
    try:
        az.create_container("lifeboat")
        k.kubectl("create", "namespace", "shop")
        for i in range(20):
            k.kubectl("-n", "shop", "create", "configmap", "cm-%02d" % i, "--from-literal=i=%d" % i)
        k.kubectl("-n", "shop", "create", "secret", "generic", "db", "--from-literal=password=hunter2")

        creds = os.path.join(work, "credentials-lifeboat")
        with open(creds, "w") as f:
            f.write("AZURE_STORAGE_KEY=%s\nAZURE_CLOUD_NAME=AzurePublicCloud\n" % sat.DEV_KEY)
        rc, out, err = cli.run("install", "--provider", "azure", "--bucket", "lifeboat",
                               "--secret-file", creds, "--use-volume-snapshots=false",
                               "--backup-location-config",
                               "storageAccount=%s,storageAccountURI=%s" % (sat.DEV_ACCOUNT, az.endpoint()))
        expect(rc == 0 and "Secret/cloud-credentials: created" in out
               and "BackupStorageLocation/default: created" in out, out + err)
        # Installing again changes nothing and says so.
        rc, out, err = cli.run("install", "--provider", "azure", "--bucket", "lifeboat",
                               "--secret-file", creds, "--use-volume-snapshots=false",
                               "--backup-location-config",
                               "storageAccount=%s,storageAccountURI=%s" % (sat.DEV_ACCOUNT, az.endpoint()))
        expect(rc == 0 and "created" not in out.replace("Lifeboat is installed", ""), out + err)

        metrics_port = free_port()
        server_log = os.path.join(work, "server.log")
        server = spawn([LIFEBOAT, "--log-level", "info", "server", "--kubeconfig", k.kubeconfig,
                        "--namespace", NS, "--metrics-address", "127.0.0.1:%d" % metrics_port,
                        "--store-validation-frequency", "1s", "--temp-dir", work,
                        "--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
                        "--leader-elect-retry-period", "1s"],
                       stdout=open(server_log, "ab"), stderr=subprocess.STDOUT,
                       # What the installed Deployment gives the server pod: the Secret mounted
                       # as a file named by Velero's environment variables.
                       env=dict(os.environ, AZURE_CREDENTIALS_FILE=creds))

        def available():
            rc, out, _ = cli.run("backup-location", "get", "default")
            return rc == 0 and " Available " in out
        wait_for("the Azure location to be Available", available, 60, interval=1)

        rc, out, err = cli.run("backup", "create", "shop-1", "--include-namespaces", "shop", "--wait")
        expect(rc == 0 and "Backup completed with status: Completed" in out, out + err)
        rc, out, err = cli.run("backup", "describe", "shop-1")
        expect(rc == 0 and "Phase:  Completed" in out and "Storage Location:  default" in out, out + err)
        rc, out, err = cli.run("backup", "logs", "shop-1")
        expect(rc == 0 and "Backing up item" in out, (out + err)[:2000])
        rc, out, err = cli.run("backup", "get")
        expect(rc == 0 and "shop-1" in out and "Completed" in out, out + err)

        k.kubectl("delete", "namespace", "shop", "--wait=true", "--timeout=120s")
        rc, out, err = cli.run("restore", "create", "shop-1-restore", "--from-backup", "shop-1", "--wait")
        expect(rc == 0 and "Restore completed with status: Completed" in out, out + err)
        got = k.kubectl("-n", "shop", "get", "configmaps", "-o", "name").stdout.split()
        expect(len([g for g in got if "/cm-" in g]) == 20, got)
        pw = k.kubectl("-n", "shop", "get", "secret", "db", "-o", "jsonpath={.data.password}").stdout
        expect(pw == "aHVudGVyMg==", pw)

        # The bucket goes away: the location says why, and a backup fails with that reason.
        az.stop()

        def unavailable():
            rc, out, _ = cli.run("backup-location", "get", "default")
            return rc == 0 and " Unavailable " in out
        wait_for("the location to be Unavailable", unavailable, 60, interval=1)
        rc, out, err = cli.run("backup", "create", "while-down", "--include-namespaces", "shop", "--wait")
        expect(rc != 0 and "Unavailable" in out + err, out + err)
        # ... and the warning before it says why (the reason the server recorded).
        expect('backup storage location "default" is Unavailable: ' in err, err)

        everything = "\n".join(cli.outputs) + open(server_log, errors="replace").read()
        expect(sat.DEV_KEY not in everything, "the storage key leaked into output or the server log")
        log("cli + azurite: install, backup, describe, logs, restore, unavailable location: ok")
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
        k.stop()
        az.stop()


def main():
    work = tempfile.mkdtemp(prefix="cli-azure-")
    start = time.monotonic()
    try:
        run(work)
        print("ok   cli_azure (%.1fs)" % (time.monotonic() - start), flush=True)
        shutil.rmtree(work, ignore_errors=True)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        print("FAIL cli_azure (work directory kept: %s)" % work, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
