#!/usr/bin/python3
"""The Velero-style client commands end to end (docs/cli.md): the built `lifeboat` binary run
as a user runs it, against kubesim (HTTPS, Velero CRDs, a read-only `kubesim-viewer` context),
a local-directory BackupStorageLocation and a running `lifeboat server`.

  cli_client_test.py KUBESIM LIFEBOAT PRINT_CRDS

Checks output, messages and exit codes of backup create/get/describe/logs/download/delete, restore
create/get/describe/logs, schedule create/get/describe/pause/unpause/delete, version, and the
error cases: unknown backup, bad flag values, no server answering, a missing location, a backup
that fails validation, RBAC denied.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import traceback
import urllib.error
import urllib.request

KUBESIM, LIFEBOAT, PRINT_CRDS = sys.argv[1:4]
KUBECTL = os.environ.get("KUBECTL", "kubectl")
NS = "velero"
PROCESSES = []


def stop_all():
    for p in PROCESSES:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(stop_all)


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, fn, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s (last: %r)" % (timeout, what, last))


class Env:
    def __init__(self, work):
        self.work = work
        self.kubeconfig = os.path.join(work, "kubeconfig")
        self.kubesim = subprocess.Popen(
            [KUBESIM, "--data-dir", os.path.join(work, "data"), "--listen", "127.0.0.1:0",
             "--write-kubeconfig", self.kubeconfig, "--log-level", "warn",
             "--authorization", "ReadOnlyViewer"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "kubesim.log"), "ab"))
        PROCESSES.append(self.kubesim)
        wait_for("kubesim's kubeconfig",
                 lambda: os.path.exists(self.kubeconfig) and os.path.getsize(self.kubeconfig) > 0, 30)
        wait_for("kubesim", lambda: self.kubectl("get", "--raw", "/version", check=False).returncode == 0, 30)
        crds = subprocess.run([PRINT_CRDS], check=True, capture_output=True, text=True).stdout
        self.kubectl("apply", "-f", "-", input=crds)
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "-l", "component=velero")
        self.kubectl("create", "namespace", NS)
        self.server = None
        self.metrics_port = None

    def kubectl(self, *args, input=None, check=True):
        r = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True,
                           env=dict(os.environ, KUBECONFIG=self.kubeconfig))
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def get(self, kind, name, ns=NS):
        r = self.kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def lifeboat(self, *args, input=None, timeout=300):
        """Runs `lifeboat ARGS --kubeconfig ...` (no TTY): (exit code, stdout, stderr)."""
        cmd = [LIFEBOAT, *args, "--kubeconfig", self.kubeconfig]
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
        log("$ lifeboat %s -> %d\n%s%s" % (" ".join(args), r.returncode, r.stdout,
                                            ("stderr: " + r.stderr) if r.stderr else ""))
        return r.returncode, r.stdout, r.stderr

    def start_server(self):
        self.metrics_port = free_port()
        out = open(os.path.join(self.work, "server.log"), "ab")
        self.server = subprocess.Popen(
            [LIFEBOAT, "--log-level", "info", "server", "--kubeconfig", self.kubeconfig,
             "--namespace", NS, "--metrics-address", "127.0.0.1:%d" % self.metrics_port,
             "--store-validation-frequency", "1s", "--backup-sync-period", "1s",
             "--garbage-collection-frequency", "1s", "--temp-dir", self.work,
             "--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
             "--leader-elect-retry-period", "1s"],
            stdout=out, stderr=out)
        PROCESSES.append(self.server)

        def healthy():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.metrics_port, timeout=5) as r:
                    return r.status == 200
            except (OSError, urllib.error.HTTPError):
                assert self.server.poll() is None, "the server exited"
                return False
        wait_for("the server's /healthz", healthy, 30)

    def server_log(self):
        with open(os.path.join(self.work, "server.log"), "rb") as f:
            return b"\n".join(f.read().splitlines()[-40:]).decode(errors="replace")

    def stop(self):
        for p in (self.server, self.kubesim):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def configmaps(ns, count):
    items = [{"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "cm-%03d" % i, "namespace": ns, "labels": {"set": "cm"}},
              "data": {"index": str(i)}} for i in range(count)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def run(work):
    e = Env(work)
    try:
        e.kubectl("create", "namespace", "app")
        e.kubectl("apply", "-f", "-", input=configmaps("app", 25))

        # ---- errors before any server runs
        rc, out, err = e.lifeboat("version", "--timeout", "2")
        expect(rc == 1, "version without a server must fail")
        expect("Client:\n\tVersion: v" in out, out)
        expect("no lifeboat server answered" in err and "kubectl -n velero get pods" in err
               and "lifeboat server" in err, err)
        rc, out, err = e.lifeboat("backup", "get", "nope")
        expect(rc == 1 and 'backup "nope" not found' in err, err)
        rc, out, err = e.lifeboat("backup", "describe", "nope")
        expect(rc == 1 and 'backup "nope" not found' in err, err)
        rc, out, err = e.lifeboat("backup", "logs", "nope")
        expect(rc == 1 and 'backup "nope" not found' in err, err)
        rc, out, err = e.lifeboat("backup", "create", "x", "--ttl", "1d")
        expect(rc == 1 and '"--ttl" flag' in err and 'unknown unit "d"' in err, err)
        rc, out, err = e.lifeboat("backup", "create", "x", "--include-cluster-resources=maybe")
        expect(rc != 0 and "maybe not in {true,false}" in err, err)
        rc, out, err = e.lifeboat("backup", "create", "x", "--selector", "a=b", "--or-selector", "c=d")
        expect(rc == 1 and "not both" in err, err)
        rc, out, err = e.lifeboat("restore", "create", "r0")
        expect(rc == 1 and "--from-backup" in err, err)
        rc, out, err = e.lifeboat("restore", "create", "--from-backup", "nope")
        expect(rc == 1 and 'backup "nope" not found' in err, err)
        rc, out, err = e.lifeboat("restore", "create", "--from-backup", "b", "--existing-resource-policy", "replace")
        expect(rc != 0 and "replace not in {none,update}" in err, err)
        rc, out, err = e.lifeboat("schedule", "create", "s0", "--schedule", "61 * * * *")
        expect(rc == 1 and "invalid schedule" in err, err)
        rc, out, err = e.lifeboat("backup", "create", "x", "--storage-location", "nowhere")
        expect(rc == 1 and 'backup storage location "nowhere" not found' in err, err)
        # RBAC: the read-only viewer may not create backups; the message names verb and resource.
        rc, out, err = e.lifeboat("backup", "create", "x", "--kubecontext", "kubesim-viewer")
        expect(rc == 1 and "forbidden" in err.lower() and "not allowed to create backups.velero.io" in err
               and "kubectl auth can-i create backups.velero.io -n velero" in err, err)
        # Logs of a finished backup with no server to answer the DownloadRequest.
        e.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": "orphan", "namespace": NS},
            "spec": {"storageLocation": "default"}, "status": {"phase": "Completed"}}))
        rc, out, err = e.lifeboat("backup", "logs", "orphan", "--timeout", "2")
        expect(rc == 1 and "timed out after 2s" in err and "kubectl -n velero get pods" in err, err)
        expect(not e.kubectl("get", "downloadrequests", "-n", NS, "-o", "name").stdout.strip(),
               "the DownloadRequest must be cleaned up")
        e.kubectl("delete", "backup", "orphan", "-n", NS)

        # ---- with a server
        root = os.path.join(work, "buckets")
        os.makedirs(os.path.join(root, "b1"), exist_ok=True)
        e.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": "default", "namespace": NS},
            "spec": {"provider": "local", "default": True, "objectStorage": {"bucket": "b1"},
                     "config": {"root": root}}}))
        e.start_server()
        wait_for("location Available",
                 lambda: (e.get("backupstoragelocation", "default") or {}).get("status", {}).get("phase") == "Available", 60)

        rc, out, err = e.lifeboat("version")
        expect(rc == 0 and re.search(r"Server:\n\tVersion: \S+", out), out + err)

        rc, out, err = e.lifeboat("backup", "create", "b1", "--include-namespaces", "app",
                                  "--labels", "team=web", "--ttl", "2h", "--wait")
        expect(rc == 0, "backup create --wait: rc %d\n%s\n%s\n%s" % (rc, out, err, e.server_log()))
        expect('Backup request "b1" submitted successfully.' in out, out)
        expect("Backup completed with status: Completed." in out, out)
        expect(re.search(r"Completed: \d+/\d+ items \(100%\)", out), out)
        expect("\r" not in out, "no terminal: plain progress lines only")
        b = e.get("backup", "b1")
        expect(b["status"]["phase"] == "Completed" and b["metadata"]["labels"]["team"] == "web"
               and b["spec"]["ttl"] == "2h0m0s" and b["spec"]["includedNamespaces"] == ["app"], b)

        rc, out, err = e.lifeboat("backup", "get")
        lines = out.splitlines()
        expect(rc == 0 and re.match(r"NAME\s+STATUS\s+ERRORS\s+WARNINGS\s+CREATED\s+EXPIRES\s+"
                                    r"STORAGE LOCATION\s+SELECTOR$", lines[0]), out)
        row = [l for l in lines if l.startswith("b1 ")]
        expect(row and re.match(r"b1\s+Completed\s+0\s+0\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\s+"
                                r"1h\s+default\s+<none>$", row[0]), out)
        rc, out, err = e.lifeboat("backup", "get", "-l", "team=web", "-o", "json")
        doc = json.loads(out)
        expect(rc == 0 and doc["kind"] == "List" and [i["metadata"]["name"] for i in doc["items"]] == ["b1"], out)
        rc, out, err = e.lifeboat("backup", "get", "b1", "-o", "yaml")
        expect(rc == 0 and "name: b1" in out and "phase: Completed" in out, out)

        rc, out, err = e.lifeboat("backup", "describe", "b1", "--details")
        for want in ("Name:         b1", "Phase:  Completed", "  Included:  app", "Storage Location:  default",
                     "TTL:  2h0m0s", "Items backed up:", "Resource List:", "v1/ConfigMap:",
                     "    - app/cm-000", "Errors:\n  Velero:     <none>"):
            expect(want in out, "describe lacks %r:\n%s" % (want, out))
        rc, out, err = e.lifeboat("backup", "logs", "b1")
        expect(rc == 0 and "Backed up a total of" in out, out + err)

        tarball = os.path.join(work, "b1.tar.gz")
        rc, out, err = e.lifeboat("backup", "download", "b1", "-o", tarball)
        expect(rc == 0 and "Backup b1 has been successfully downloaded to " + tarball in out, out + err)
        with tarfile.open(tarball, "r:gz") as t:
            names = t.getnames()
        expect(any(n.startswith("resources/configmaps/namespaces/app/") for n in names), names[:20])
        rc, out, err = e.lifeboat("backup", "download", "b1", "-o", tarball)
        expect(rc == 1 and "already exists" in err, err)

        # ---- restore after the namespace is gone
        e.kubectl("delete", "namespace", "app", "--wait=true", "--timeout=60s")
        rc, out, err = e.lifeboat("restore", "create", "r1", "--from-backup", "b1", "--wait")
        expect(rc == 0 and 'Restore request "r1" submitted successfully.' in out
               and "Restore completed with status: Completed." in out, out + err + e.server_log())
        n = len(e.kubectl("get", "configmap", "-n", "app", "-l", "set=cm", "-o", "name").stdout.split())
        expect(n == 25, "restored %d configmaps" % n)
        rc, out, err = e.lifeboat("restore", "get")
        expect(rc == 0 and re.match(r"NAME\s+BACKUP\s+STATUS\s+STARTED\s+COMPLETED\s+ERRORS\s+WARNINGS\s+"
                                    r"CREATED\s+SELECTOR$", out.splitlines()[0]), out)
        expect(re.search(r"^r1\s+b1\s+Completed\s+\d{4}-", out, re.M), out)
        rc, out, err = e.lifeboat("restore", "describe", "r1", "--details")
        expect(rc == 0 and "Backup:  b1" in out and "Completed" in out and "Warnings:" in out, out)
        rc, out, err = e.lifeboat("restore", "logs", "r1")
        expect(rc == 0 and out.strip(), out + err)
        rc, out, err = e.lifeboat("restore", "create", "--from-backup", "b1", "--namespace-mappings",
                                  "app:app-copy", "--include-resources", "configmaps")
        name = re.search(r'Restore request "(b1-\d{14})" submitted', out)
        expect(rc == 0 and name, out + err)
        r = e.get("restore", name.group(1))
        expect(r["spec"]["namespaceMapping"] == {"app": "app-copy"}
               and r["spec"]["includedResources"] == ["configmaps"], r)

        # ---- a backup that fails validation: --wait exits non-zero with the errors
        rc, out, err = e.lifeboat("backup", "create", "bad", "--include-namespaces", "app",
                                  "--exclude-namespaces", "app", "--wait")
        expect(rc == 1 and "Backup completed with status: FailedValidation." in out
               and "Validation errors:" in err, out + err)

        # ---- a location that is Unavailable: warned about at create; --wait shows why it failed
        blocker = os.path.join(work, "not-a-directory")
        open(blocker, "w").close()
        e.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": "broken", "namespace": NS},
            "spec": {"provider": "local", "objectStorage": {"bucket": "b2"}, "config": {"root": blocker}}}))
        wait_for("location broken Unavailable",
                 lambda: (e.get("backupstoragelocation", "broken") or {}).get("status", {}).get("phase") == "Unavailable", 60)
        rc, out, err = e.lifeboat("backup", "create", "nb", "--storage-location", "broken",
                                  "--include-namespaces", "app", "--wait")
        expect(rc == 1 and 'Warning: backup storage location "broken" is Unavailable' in err
               and re.search(r"Backup completed with status: (FailedValidation|Failed)\.", out)
               and ("Validation errors:" in err or "Failure reason:" in err) and "broken" in err, out + err)

        # ---- the live progress line on a terminal: rewritten with \r, one final newline
        master, slave = os.openpty()
        p = subprocess.Popen([LIFEBOAT, "backup", "create", "tty1", "--include-namespaces", "app", "--wait",
                              "--kubeconfig", e.kubeconfig], stdout=slave, stderr=subprocess.PIPE, text=False)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        rc = p.wait(timeout=120)
        os.close(master)
        tty = b"".join(chunks).decode(errors="replace")
        log("terminal output: %r" % tty)
        expect(rc == 0 and "\r" in tty and re.search(r"\rCompleted: \d+/\d+ items \(100%\)", tty)
               and "Backup completed with status: Completed." in tty, tty)

        # ---- the same seen in a real terminal (tmux): one progress line, rewritten in place
        if shutil.which("tmux"):
            sock = os.path.join(work, "tmux.sock")  # a private tmux server, removed with the work dir
            cmd = "%s backup create tmux1 --include-namespaces app --wait --kubeconfig %s; echo EXIT=$?; sleep 60" % (
                LIFEBOAT, e.kubeconfig)
            subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-s", "cli", "-x", "200", "-y", "40", cmd], check=True)
            try:
                screen = wait_for("the tmux command to finish", lambda: (lambda t: "EXIT=" in t and t)(
                    subprocess.run(["tmux", "-S", sock, "capture-pane", "-p", "-t", "cli"],
                                   capture_output=True, text=True).stdout), 120)
            finally:
                subprocess.run(["tmux", "-S", sock, "kill-server"], capture_output=True)
            log("tmux screen:\n" + screen)
            progress = [l for l in screen.splitlines() if re.search(r"\d+ items", l)]
            expect("EXIT=0" in screen and len(progress) == 1
                   and re.match(r"Completed: \d+/\d+ items \(100%\), [\d.]+ items/s, elapsed \d+:\d\d\s*$", progress[0]),
                   screen)

        # ---- schedules
        rc, out, err = e.lifeboat("schedule", "create", "s1", "--schedule", "@every 1h",
                                  "--include-namespaces", "app", "--ttl", "3h", "--labels", "tier=gold")
        expect(rc == 0 and 'Schedule "s1" created successfully.' in out, out + err)
        s = e.get("schedule", "s1")
        expect(s["spec"]["schedule"] == "@every 1h" and s["spec"]["template"]["ttl"] == "3h0m0s", s)
        wait_for("schedule Enabled", lambda: (e.get("schedule", "s1") or {}).get("status", {}).get("phase") == "Enabled", 60)
        rc, out, err = e.lifeboat("schedule", "get")
        expect(rc == 0 and re.match(r"NAME\s+STATUS\s+CREATED\s+SCHEDULE\s+BACKUP TTL\s+LAST BACKUP\s+"
                                    r"SELECTOR\s+PAUSED$", out.splitlines()[0]), out)
        expect(re.search(r"^s1\s+Enabled\s+.*@every 1h\s+3h0m0s\s+.*false$", out, re.M), out)
        rc, out, err = e.lifeboat("schedule", "pause", "s1")
        expect(rc == 0 and 'Schedule "s1" paused successfully.' in out, out)
        expect(e.get("schedule", "s1")["spec"]["paused"] is True, "paused")
        rc, out, err = e.lifeboat("schedule", "get", "s1")
        expect(re.search(r"^s1\s+.*true$", out, re.M), out)
        rc, out, err = e.lifeboat("schedule", "describe", "s1")
        expect(rc == 0 and "Paused:  true" in out and "Schedule:  @every 1h" in out, out)
        rc, out, err = e.lifeboat("backup", "create", "--from-schedule", "s1", "--wait")
        m = re.search(r'Backup request "(s1-\d{14})" submitted', out)
        expect(rc == 0 and m, out + err)
        fb = e.get("backup", m.group(1))
        expect(fb["metadata"]["labels"].get("velero.io/schedule-name") == "s1"
               and fb["metadata"]["labels"].get("tier") == "gold", fb["metadata"])
        rc, out, err = e.lifeboat("schedule", "unpause", "s1")
        expect(rc == 0 and e.get("schedule", "s1")["spec"]["paused"] is False, out)
        rc, out, err = e.lifeboat("schedule", "delete", "s1", "--confirm")
        expect(rc == 0 and e.get("schedule", "s1") is None, out + err)

        # ---- delete: asks unless --confirm
        rc, out, err = e.lifeboat("backup", "delete", "b1", input="n\n")
        expect(rc == 1 and "Are you sure you want to continue (Y/N)?" in out and "Cancelled" in out, out)
        expect(e.get("backup", "b1") is not None, "b1 must still exist")
        rc, out, err = e.lifeboat("backup", "delete", "b1", "--confirm")
        expect(rc == 0 and 'Request to delete backup "b1" submitted successfully.' in out, out + err)
        wait_for("backup b1 deleted", lambda: e.get("backup", "b1") is None, 60)
        wait_for("b1's files deleted", lambda: not os.path.exists(os.path.join(root, "b1", "backups", "b1")), 60)
        rc, out, err = e.lifeboat("backup", "get", "b1")
        expect(rc == 1 and 'backup "b1" not found' in err, err)
        run_location_config_completion_checks(e, work)
        log("all cli client checks passed")
    finally:
        e.stop()


def run_location_config_completion_checks(e, work):
    """backup-location / snapshot-location, client config, completion and describe's volumes."""
    # ---- describe: the volume section of a backup without volumes (tty1 is Completed)
    rc, out, err = e.lifeboat("backup", "describe", "tty1")
    expect(rc == 0 and "Backup Volumes:\n  Velero-Native Snapshots: <none included>\n" in out
           and "  CSI Snapshots: <none included>" in out and "  Pod Volume Backups: <none included>" in out,
           out + err)
    rc, out, err = e.lifeboat("backup", "describe", "tty1", "--details")
    expect(rc == 0 and "Velero-Native Snapshots: <none included>" in out
           and "error getting volume info" not in out and "Resource List:" in out, out + err)

    # ---- client config: $HOME/.config/velero/config.json; flag > config > VELERO_NAMESPACE > velero
    home = os.path.join(work, "home")
    os.makedirs(home, exist_ok=True)

    def lb(*args, env=None, input=None):
        full = dict(os.environ, HOME=home)
        full.pop("VELERO_NAMESPACE", None)
        full.update(env or {})
        r = subprocess.run([LIFEBOAT, *args, "--kubeconfig", e.kubeconfig] if args[0] not in ("client", "completion")
                           else [LIFEBOAT, *args], input=input, capture_output=True, text=True, env=full, timeout=120)
        log("$ HOME=%s lifeboat %s -> %d\n%s%s" % (home, " ".join(args), r.returncode, r.stdout,
                                                   ("stderr: " + r.stderr) if r.stderr else ""))
        return r.returncode, r.stdout, r.stderr

    rc, out, err = lb("client", "config", "get")
    expect(rc == 0 and out == "", out + err)
    rc, out, err = lb("client", "config", "set", "namespace=elsewhere", "features=EnableCSI")
    expect(rc == 0, err)
    with open(os.path.join(home, ".config", "velero", "config.json")) as f:
        expect(json.load(f) == {"namespace": "elsewhere", "features": "EnableCSI"}, "config file")
    rc, out, err = lb("client", "config", "get", "namespace", "cacert")
    expect(rc == 0 and out == "namespace: elsewhere\ncacert: <NOT SET>\n", out)
    rc, out, err = lb("client", "config", "set", "oops")
    expect(rc == 1 and 'invalid KEY=VALUE argument "oops"' in err, err)
    rc, out, err = lb("backup", "get", "tty1", env={"VELERO_NAMESPACE": "from-env"})
    expect(rc == 1 and 'backup "tty1" not found in namespace "elsewhere"' in err, err)
    rc, out, err = lb("backup", "get", "tty1", "-n", NS)
    expect(rc == 0 and re.search(r"^tty1\s+Completed", out, re.M), out + err)
    rc, out, err = lb("client", "config", "set", "namespace=")
    rc, out, err = lb("client", "config", "get")
    expect(rc == 0 and out == "features: EnableCSI\n", out)
    rc, out, err = lb("backup", "get", "tty1", env={"VELERO_NAMESPACE": "from-env"})
    expect(rc == 1 and 'not found in namespace "from-env"' in err, err)
    rc, out, err = lb("backup", "get", "tty1")
    expect(rc == 0 and "tty1" in out, out + err)

    # ---- completion of the real binary in bash
    r = subprocess.run(["bash", "-c", "source <(\"$0\" completion bash); complete -p lifeboat", LIFEBOAT],
                       capture_output=True, text=True)
    expect(r.returncode == 0 and r.stdout.strip() == "complete -o default -F _lifeboat lifeboat", r.stdout + r.stderr)

    # ---- backup-location
    rc, out, err = e.lifeboat("backup-location", "create", "sec", "--provider", "local")
    expect(rc == 1 and "--bucket is required" in err, err)
    rc, out, err = e.lifeboat("backup-location", "create", "sec", "--bucket", "b")
    expect(rc == 1 and "--provider is required" in err, err)
    rc, out, err = e.lifeboat("backup-location", "create", "sec", "--provider", "local", "--bucket", "b",
                              "--access-mode", "WriteOnly")
    expect(rc != 0 and "WriteOnly not in {ReadWrite,ReadOnly}" in err, err)
    rc, out, err = e.lifeboat("backup-location", "create", "sec", "--provider", "local", "--bucket", "b",
                              "--kubecontext", "kubesim-viewer")
    expect(rc == 1 and "not allowed to create backupstoragelocations.velero.io" in err, err)
    root2 = os.path.join(work, "buckets2")
    os.makedirs(os.path.join(root2, "b3"), exist_ok=True)
    rc, out, err = e.lifeboat("backup-location", "create", "sec", "--provider", "local", "--bucket", "b3",
                              "--prefix", "team-a", "--config", "root=" + root2, "--labels", "tier=cold",
                              "--access-mode", "ReadOnly", "--backup-sync-period", "2m", "--credential", "creds=cloud")
    expect(rc == 0 and 'Backup storage location "sec" configured successfully.' in out, out + err)
    bsl = e.get("backupstoragelocation", "sec")
    expect(bsl["spec"]["provider"] == "local" and bsl["spec"]["objectStorage"] == {"bucket": "b3", "prefix": "team-a"}
           and bsl["spec"]["config"] == {"root": root2} and bsl["spec"]["accessMode"] == "ReadOnly"
           and bsl["spec"]["backupSyncPeriod"] == "2m0s" and bsl["metadata"]["labels"] == {"tier": "cold"}
           and bsl["spec"]["credential"] == {"name": "creds", "key": "cloud"} and not bsl["spec"].get("default"), bsl)
    rc, out, err = e.lifeboat("backup-location", "create", "sec", "--provider", "local", "--bucket", "b3")
    expect(rc == 1 and 'backup storage location "sec" already exists' in err, err)
    rc, out, err = e.lifeboat("backup-location", "get")
    lines = out.splitlines()
    expect(rc == 0 and re.match(r"NAME\s+PROVIDER\s+BUCKET/PREFIX\s+PHASE\s+LAST VALIDATED\s+ACCESS MODE\s+DEFAULT$",
                                lines[0]), out)
    expect(re.search(r"^default\s+local\s+b1\s+Available\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC\s+ReadWrite\s+true$",
                     out, re.M), out)
    expect(re.search(r"^sec\s+local\s+b3/team-a\s+\S+.*ReadOnly$", out, re.M), out)
    rc, out, err = e.lifeboat("backup-location", "get", "-l", "tier=cold", "-o", "json")
    doc = json.loads(out)
    expect(rc == 0 and [i["metadata"]["name"] for i in doc["items"]] == ["sec"], out)
    rc, out, err = e.lifeboat("backup-location", "get", "--default", "-o", "yaml")
    expect(rc == 0 and "name: default" in out and "name: sec" not in out, out)
    rc, out, err = e.lifeboat("backup-location", "get", "nope")
    expect(rc == 1 and 'backup storage location "nope" not found' in err, err)
    rc, out, err = e.lifeboat("backup-location", "set", "sec", "--credential", "a=b,c=d")
    expect(rc == 1 and "exactly one SECRET=KEY pair" in err, err)
    rc, out, err = e.lifeboat("backup-location", "set", "sec")
    expect(rc == 1 and "nothing to change" in err, err)
    rc, out, err = e.lifeboat("backup-location", "set", "nope", "--default")
    expect(rc == 1 and 'backup storage location "nope" not found' in err, err)
    # --default moves the default: exactly one default at a time.
    rc, out, err = e.lifeboat("backup-location", "set", "sec", "--default")
    expect(rc == 0 and 'Backup storage location "sec" configured successfully.' in out
           and 'Backup storage location "default" is no longer the default.' in out, out + err)
    expect(e.get("backupstoragelocation", "sec")["spec"]["default"] is True
           and not e.get("backupstoragelocation", "default")["spec"].get("default"), "default moved")
    rc, out, err = e.lifeboat("backup-location", "create", "ter", "--provider", "local", "--bucket", "b3",
                              "--config", "root=" + root2, "--default")
    expect(rc == 0 and 'Backup storage location "sec" is no longer the default.' in out, out + err)
    rc, out, err = e.lifeboat("backup-location", "set", "default", "--default")
    expect(rc == 0 and 'Backup storage location "ter" is no longer the default.' in out, out + err)
    rc, out, err = e.lifeboat("backup-location", "get", "--default")
    expect(rc == 0 and len(out.splitlines()) == 2 and out.splitlines()[1].startswith("default "), out)
    rc, out, err = e.lifeboat("backup-location", "set", "default", "--credential", "creds=cloud")
    expect(rc == 0 and e.get("backupstoragelocation", "default")["spec"]["credential"] == {"name": "creds", "key": "cloud"}
           and e.get("backupstoragelocation", "default")["spec"]["default"] is True, out + err)
    e.kubectl("patch", "backupstoragelocation", "default", "-n", NS, "--type", "json",
              "-p", '[{"op": "remove", "path": "/spec/credential"}]')

    # Deleting a location deletes the Backup objects that use it and their Restores, not the data.
    wait_for("location ter Available",
             lambda: (e.get("backupstoragelocation", "ter") or {}).get("status", {}).get("phase") == "Available", 60)
    rc, out, err = e.lifeboat("backup", "create", "secb", "--storage-location", "ter",
                              "--include-namespaces", "app", "--wait")
    expect(rc == 0, out + err + e.server_log())
    e.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "velero.io/v1", "kind": "Restore", "metadata": {"name": "secr", "namespace": NS},
        "spec": {"backupName": "secb"}, "status": {"phase": "Completed"}}))
    rc, out, err = e.lifeboat("backup-location", "delete")
    expect(rc == 1 and "--selector or --all" in err, err)
    rc, out, err = e.lifeboat("backup-location", "delete", "ter", input="n\n")
    expect(rc == 1 and "Backup and Restore objects that use them are deleted too" in out
           and "Cancelled" in out and e.get("backupstoragelocation", "ter") is not None, out)
    rc, out, err = e.lifeboat("backup-location", "delete", "ter", "--confirm")
    expect(rc == 0 and 'Backup storage location "ter" deleted successfully.' in out
           and 'Backup associated with the deleted location "secb" deleted successfully.' in out
           and 'Restore of a backup of the deleted location "secr" deleted successfully.' in out, out + err)
    wait_for("location ter, backup secb and restore secr gone",
             lambda: e.get("backupstoragelocation", "ter") is None and e.get("backup", "secb") is None
             and e.get("restore", "secr") is None, 60)
    expect(os.path.isdir(os.path.join(root2, "b3", "backups", "secb")), "the bucket's data of secb must be kept")
    expect(e.get("backup", "tty1") is not None, "backups of other locations are kept")
    rc, out, err = e.lifeboat("backup-location", "delete", "-l", "tier=cold", "--confirm")
    expect(rc == 0 and 'Backup storage location "sec" deleted successfully.' in out, out + err)

    # ---- snapshot-location
    rc, out, err = e.lifeboat("snapshot-location", "create", "vs1", "--config", "region=us-east-1")
    expect(rc == 1 and "--provider is required" in err, err)
    rc, out, err = e.lifeboat("snapshot-location", "create", "vs1", "--provider", "aws",
                              "--config", "region=us-east-1", "--labels", "kind=ebs")
    expect(rc == 0 and 'Snapshot volume location "vs1" configured successfully.' in out, out + err)
    vsl = e.get("volumesnapshotlocation", "vs1")
    expect(vsl["spec"]["provider"] == "aws" and vsl["spec"]["config"] == {"region": "us-east-1"}, vsl)
    rc, out, err = e.lifeboat("snapshot-location", "get")
    expect(rc == 0 and re.match(r"NAME\s+PROVIDER$", out.splitlines()[0])
           and re.search(r"^vs1\s+aws$", out, re.M), out)
    rc, out, err = e.lifeboat("snapshot-location", "set", "vs1", "--credential", "creds=cloud")
    expect(rc == 0 and e.get("volumesnapshotlocation", "vs1")["spec"]["credential"] == {"name": "creds", "key": "cloud"},
           out + err)
    rc, out, err = e.lifeboat("snapshot-location", "get", "vs1", "-o", "json")
    expect(rc == 0 and json.loads(out)["metadata"]["name"] == "vs1", out)
    rc, out, err = e.lifeboat("snapshot-location", "delete", "vs1", "--confirm")
    expect(rc == 0 and 'Volume snapshot location "vs1" deleted successfully.' in out
           and e.get("volumesnapshotlocation", "vs1") is None, out + err)


def main():
    work = tempfile.mkdtemp(prefix="cli-client-")
    try:
        run(work)
        shutil.rmtree(work, ignore_errors=True)
    except Exception:
        traceback.print_exc()
        log("work dir kept: " + work)
        sys.exit(1)


if __name__ == "__main__":
    main()
