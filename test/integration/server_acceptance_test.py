#!/usr/bin/python3
"""`lifeboat server` end to end: real processes (kubesim over HTTPS, the lifeboat binary,
Azurite), objects created with the real kubectl, buckets inspected on disk.

  server_acceptance_test.py KUBESIM LIFEBOAT PRINT_CRDS CASE...

Each CASE starts what it needs on loopback ports and removes it afterwards:

  backup_restore      a Backup and a Restore created with kubectl complete; files in the bucket;
                      DownloadRequest and ServerStatusRequest answered; /metrics checked with
                      a Prometheus text-format parser; SIGTERM stops the server cleanly
  schedule_ttl_delete an `@every 2s` schedule makes correctly named and labelled backups; a
                      backup past its TTL is deleted; a DeleteBackupRequest removes everything
  sync                a second cluster pointed at the same bucket sees the backups and
                      restores one
  azure_unavailable   an Azurite location goes Unavailable when the emulator stops, backups to
                      it fail with that reason, and it recovers when the emulator returns
  crash_backup        kill -9 of the server during a large backup; the next server resumes it
  crash_restore       the same for a restore: everything restored once, no warnings
  cancel_backup       the lifeboat.io/cancel annotation stops a running backup; nothing in the
                      bucket looks complete
  faults              API-server 429/500 bursts, dropped watches and bucket 503s (a proxy in
                      front of Azurite) do not fail a backup and a restore that can succeed
"""
import atexit
import base64
import datetime
import gzip
import hashlib
import hmac
import http.client
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from prometheus_client.parser import text_string_to_metric_families

KUBESIM, LIFEBOAT, PRINT_CRDS = sys.argv[1:4]
CASES = sys.argv[4:]
KUBECTL = os.environ.get("KUBECTL", "kubectl")
SOURCE_DIR = os.path.dirname(os.path.abspath(__file__))
AZURITE = os.environ.get(
    "AZURITE_BLOB", os.path.join(SOURCE_DIR, "..", "..", ".deps", "npm", "node_modules", ".bin", "azurite-blob"))
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
NS = "velero"


# Every process started here, stopped at exit whatever happens (a failed setup included).
PROCESSES = []


def stop_all():
    for p in PROCESSES:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(stop_all)


def spawn(*args, **kwargs):
    p = subprocess.Popen(*args, **kwargs)
    PROCESSES.append(p)
    return p


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Terminal(Exception):
    """Raised by a wait_for condition that can no longer become true."""


def wait_for(what, fn, timeout=60, interval=0.2):
    """Calls fn until it returns something truthy; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except Terminal:
            raise
        except Exception as e:  # noqa: BLE001 - keep polling, report the last error
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %ds waiting for %s (last: %r)" % (timeout, what, last))


class Kubesim:
    def __init__(self, work, name, *flags):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.kubeconfig = os.path.join(self.dir, "kubeconfig")
        self.launch(*flags)
        crds = subprocess.run([PRINT_CRDS], check=True, capture_output=True, text=True).stdout
        self.kubectl("apply", "-f", "-", input=crds)
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "-l", "component=velero")
        self.kubectl("create", "namespace", NS)

    def launch(self, *flags):
        if os.path.exists(self.kubeconfig):
            os.remove(self.kubeconfig)
        self.log = open(os.path.join(self.dir, "kubesim.log"), "ab")
        self.proc = spawn([KUBESIM, "--data-dir", os.path.join(self.dir, "data"),
                                      "--listen", "127.0.0.1:0", "--write-kubeconfig", self.kubeconfig,
                                      "--log-level", "warn", *flags],
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        wait_for("kubesim's kubeconfig", lambda: os.path.exists(self.kubeconfig) and os.path.getsize(self.kubeconfig) > 0, 30)
        wait_for("kubesim to answer", lambda: self.kubectl("get", "--raw", "/version", check=False).returncode == 0, 30)
        text = open(self.kubeconfig).read()
        self.server = [l.split()[-1] for l in text.splitlines() if "server:" in l][0]
        self.token = [l.split()[-1] for l in text.splitlines() if l.strip().startswith("token:")][0]
        self.ssl = ssl.create_default_context(cafile=os.path.join(self.dir, "data", "pki", "ca.crt"))

    def restart(self, *flags):
        """Stops kubesim and starts it again on the same data with `flags` (a new port)."""
        self.stop()
        self.launch(*flags)

    def kubectl(self, *args, input=None, check=True):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig)
        for _ in range(30):  # kubectl does not retry injected 429/500 faults; the test does
            r = subprocess.run([KUBECTL, *args], input=input, capture_output=True, text=True, env=env)
            if r.returncode == 0 or "fault injection" not in r.stderr:
                break
            time.sleep(0.1)
        if check and r.returncode != 0:
            raise AssertionError("kubectl %s failed: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def apply(self, obj):
        self.kubectl("apply", "-f", "-", input=json.dumps(obj))

    def get(self, kind, name, ns=NS):
        r = self.kubectl("get", kind, name, "-n", ns, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def list(self, kind, ns=NS, selector=None):
        args = ["get", kind, "-n", ns, "-o", "json"]
        if selector:
            args += ["-l", selector]
        return json.loads(self.kubectl(*args).stdout)["items"]

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for attempt in range(20):
            try:
                with urllib.request.urlopen(req, context=self.ssl, timeout=60) as resp:
                    return resp.status, resp.read()
            except urllib.error.HTTPError as e:
                if e.code in (429, 500) and attempt < 19:  # injected faults
                    time.sleep(0.05)
                    continue
                return e.code, e.read()

    def create_configmaps(self, ns, count, size=512, prefix="cm"):
        """Creates `count` ConfigMaps in `ns` (created) with 8 threads, through the REST API."""
        self.kubectl("create", "namespace", ns)
        payload = "x" * size

        def one(i):
            code, body = self.request("POST", "/api/v1/namespaces/%s/configmaps" % ns, {
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "%s-%05d" % (prefix, i), "labels": {"set": prefix}},
                "data": {"payload": payload, "index": str(i)}})
            assert code in (201, 409), (code, body[:200])  # 409: a retried create that had landed
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))

    def count(self, kind, ns, selector=None):
        args = ["get", kind, "-n", ns, "-o", "name"]
        if selector:
            args += ["-l", selector]
        return len([l for l in self.kubectl(*args).stdout.splitlines() if l.strip()])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Server:
    def __init__(self, work, name, kubesim, *flags):
        self.work, self.name, self.kubesim, self.flags = work, name, kubesim, flags
        self.log_path = os.path.join(work, name + ".log")
        self.metrics_port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = spawn(
            [LIFEBOAT, "--log-level", "info", "server", "--kubeconfig", self.kubesim.kubeconfig,
             "--namespace", NS, "--metrics-address", "127.0.0.1:%d" % self.metrics_port,
             "--store-validation-frequency", "1s", "--backup-sync-period", "1s",
             "--garbage-collection-frequency", "1s", "--temp-dir", self.work,
             "--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s",
             "--leader-elect-retry-period", "1s", *self.flags],
            stdout=self.log, stderr=self.log)
        wait_for("the server's /healthz", lambda: self.get("/healthz")[0] == 200, 30)

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.metrics_port, path), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError:
            if self.proc.poll() is not None:
                raise AssertionError("the server exited (%d); log:\n%s" % (self.proc.returncode, self.tail()))
            return 0, ""

    def metrics(self):
        """{(name, frozenset(labels)): value} of every sample, parsed by prometheus_client."""
        code, text = self.get("/metrics")
        assert code == 200, code
        out = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                out[(s.name, frozenset(s.labels.items()))] = s.value
        return out

    def tail(self, n=60):
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout=60):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("the server did not stop within %ds of SIGTERM" % timeout)
        return self.proc.returncode if self.proc else None


def metric(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


def local_location(name, root, bucket, default=True):
    os.makedirs(os.path.join(root, bucket), exist_ok=True)
    return {"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"provider": "local", "default": default, "objectStorage": {"bucket": bucket},
                     "config": {"root": root}}}


def backup_obj(name, namespaces, **spec):
    s = {"includedNamespaces": namespaces}
    s.update(spec)
    return {"apiVersion": "velero.io/v1", "kind": "Backup", "metadata": {"name": name, "namespace": NS}, "spec": s}


def restore_obj(name, backup, **spec):
    s = {"backupName": backup}
    s.update(spec)
    return {"apiVersion": "velero.io/v1", "kind": "Restore", "metadata": {"name": name, "namespace": NS}, "spec": s}


def phase(k, kind, name):
    o = k.get(kind, name)
    return (o or {}).get("status", {}).get("phase", "")


def wait_phase(k, kind, name, phases, timeout=120, server=None):
    def check():
        p = phase(k, kind, name)
        if p in ("Failed", "FailedValidation", "PartiallyFailed") and p not in phases:
            raise Terminal("%s %s ended %s: %s" % (kind, name, p, json.dumps(k.get(kind, name).get("status"))))
        return p in phases and p
    try:
        return wait_for("%s %s to be %s" % (kind, name, "/".join(phases)), check, timeout)
    except Terminal as e:
        raise AssertionError(str(e) + ("\nserver log:\n" + server.tail() if server else ""))
    except AssertionError as e:
        raise AssertionError(str(e) + ("\nserver log:\n" + server.tail() if server else ""))


def wait_available(k, name, timeout=60):
    wait_for("location %s Available" % name, lambda: phase(k, "backupstoragelocation", name) == "Available", timeout)


def bucket_files(root, bucket, backup):
    d = os.path.join(root, bucket, "backups", backup)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def archive_names(path):
    with tarfile.open(path, "r:gz") as t:
        return [m.name for m in t.getmembers() if m.isfile()]


# ------------------------------------------------------------------------------------------ cases

def backup_restore(work):
    k = Kubesim(work, "k1")
    root = os.path.join(work, "buckets")
    server = None
    try:
        k.create_configmaps("app", 30)
        k.kubectl("-n", "app", "create", "secret", "generic", "db", "--from-literal=password=s3cret")
        k.apply(local_location("default", root, "b1"))
        server = Server(work, "server", k)
        wait_available(k, "default")
        k.apply(backup_obj("nightly", ["app"]))
        wait_phase(k, "backup", "nightly", ["Completed"], server=server)
        b = k.get("backup", "nightly")
        assert b["metadata"]["labels"].get("velero.io/storage-location") == "default", b["metadata"]
        assert b["status"].get("expiration"), b["status"]
        files = bucket_files(root, "b1", "nightly")
        for f in ("velero-backup.json", "nightly.tar.gz", "nightly-logs.gz", "nightly-resource-list.json.gz",
                  "nightly-results.gz"):
            assert f in files, (f, files)
        names = archive_names(os.path.join(root, "b1", "backups", "nightly", "nightly.tar.gz"))
        cms = [n for n in names if n.startswith("resources/configmaps/namespaces/app/")]
        assert len(cms) >= 31, len(cms)  # 30 + kube-root-ca.crt (plus preferred-version copies)

        # DownloadRequest: a signed (file://) URL to the log.
        k.apply({"apiVersion": "velero.io/v1", "kind": "DownloadRequest", "metadata": {"name": "dl1", "namespace": NS},
                 "spec": {"target": {"kind": "BackupLog", "name": "nightly"}}})
        wait_for("DownloadRequest processed", lambda: phase(k, "downloadrequest", "dl1") == "Processed", 30)
        url = k.get("downloadrequest", "dl1")["status"]["downloadURL"]
        assert url, url
        # ServerStatusRequest: version and plugins.
        k.apply({"apiVersion": "velero.io/v1", "kind": "ServerStatusRequest", "metadata": {"name": "ssr1", "namespace": NS}})
        wait_for("ServerStatusRequest processed", lambda: phase(k, "serverstatusrequest", "ssr1") == "Processed", 30)
        st = k.get("serverstatusrequest", "ssr1")["status"]
        assert st.get("serverVersion"), st
        assert any(p.get("kind") == "ObjectStore" for p in st.get("plugins", [])), st

        # Restore into the same cluster after the namespace is gone.
        k.kubectl("delete", "namespace", "app", "--wait=true", "--timeout=60s")
        k.apply(restore_obj("r1", "nightly"))
        wait_phase(k, "restore", "r1", ["Completed"], server=server)
        assert k.count("configmap", "app", "set=cm") == 30
        pw = k.kubectl("-n", "app", "get", "secret", "db", "-o", "jsonpath={.data.password}").stdout
        assert base64.b64decode(pw) == b"s3cret"
        rfiles = os.listdir(os.path.join(root, "b1", "restores", "r1"))
        assert "restore-r1-logs.gz" in rfiles and "restore-r1-results.gz" in rfiles, rfiles

        m = wait_for("metrics of the backup and restore", lambda: (
            lambda s: metric(s, "velero_restore_success_total", schedule="") == 1 and s)(server.metrics()), 30)
        assert metric(m, "velero_backup_attempt_total", schedule="") == 1, m
        assert metric(m, "velero_backup_success_total", schedule="") == 1
        assert metric(m, "velero_backup_failure_total", schedule="") in (0, None)
        assert metric(m, "velero_restore_attempt_total", schedule="") == 1
        assert metric(m, "velero_backup_items_total", schedule="") >= 32
        assert metric(m, "velero_backup_last_status", schedule="") == 1
        assert metric(m, "velero_backup_location_status_gauge", backup_location_name="default") == 1
        assert (metric(m, "velero_backup_tarball_size_bytes", schedule="") or 0) > 0
        code, body = server.get("/readyz")
        assert code == 200, (code, body)
        rc = server.stop(timeout=30)
        assert rc == 0, "server exit code %r after SIGTERM\n%s" % (rc, server.tail())
        assert "stopped" in server.tail(), server.tail()
    finally:
        if server:
            server.stop()
        k.stop()


def schedule_ttl_delete(work):
    k = Kubesim(work, "k1")
    root = os.path.join(work, "buckets")
    server = None
    try:
        k.create_configmaps("app", 5)
        k.apply(local_location("default", root, "b1"))
        server = Server(work, "server", k)
        wait_available(k, "default")
        k.apply({"apiVersion": "velero.io/v1", "kind": "Schedule",
                 "metadata": {"name": "often", "namespace": NS, "labels": {"team": "platform"}},
                 "spec": {"schedule": "@every 2s", "template": {"includedNamespaces": ["app"], "ttl": "1h0m0s",
                                                               "metadata": {"labels": {"tier": "gold"}}}}})
        k.apply({"apiVersion": "velero.io/v1", "kind": "Schedule", "metadata": {"name": "broken", "namespace": NS},
                 "spec": {"schedule": "61 * * * *", "template": {}}})
        wait_for("the broken schedule to fail validation",
                 lambda: phase(k, "schedule", "broken") == "FailedValidation", 30)
        errs = k.get("schedule", "broken")["status"].get("validationErrors", [])
        assert errs and "61" in " ".join(errs), errs

        def two_completed():
            items = [b for b in k.list("backup", selector="velero.io/schedule-name=often")
                     if b.get("status", {}).get("phase") == "Completed"]
            return len(items) >= 2 and items
        items = wait_for("two Completed backups of the schedule", two_completed, 90)
        for b in items:
            assert re.fullmatch(r"often-\d{14}", b["metadata"]["name"]), b["metadata"]["name"]
            assert b["metadata"]["labels"].get("tier") == "gold", b["metadata"]["labels"]
            assert b["spec"]["includedNamespaces"] == ["app"], b["spec"]
        assert k.get("schedule", "often")["status"].get("lastBackup")
        assert phase(k, "schedule", "often") == "Enabled"
        k.kubectl("-n", NS, "patch", "schedule", "often", "--type", "merge", "-p", '{"spec":{"paused":true}}')

        # A DeleteBackupRequest removes the backup, its files and its restores.
        victim = items[0]["metadata"]["name"]
        k.apply(restore_obj("r-victim", victim, includedNamespaces=["nothing-here"]))
        wait_phase(k, "restore", "r-victim", ["Completed", "PartiallyFailed"], server=server)
        assert os.path.isdir(os.path.join(root, "b1", "restores", "r-victim"))
        k.apply({"apiVersion": "velero.io/v1", "kind": "DeleteBackupRequest",
                 "metadata": {"name": "del-1", "namespace": NS}, "spec": {"backupName": victim}})
        wait_for("the deleted backup to go", lambda: k.get("backup", victim) is None, 60)
        assert bucket_files(root, "b1", victim) == [], bucket_files(root, "b1", victim)
        assert k.get("restore", "r-victim") is None
        assert not os.path.isdir(os.path.join(root, "b1", "restores", "r-victim")) or \
            os.listdir(os.path.join(root, "b1", "restores", "r-victim")) == []

        # TTL: a backup that expires is collected (object and files).
        # A TTL long enough that a poll slowed by a loaded machine still sees it Completed
        # before gc collects it (3 s raced in CI).
        k.apply(backup_obj("short", ["app"], ttl="20s"))
        wait_phase(k, "backup", "short", ["Completed"], server=server)
        assert "velero-backup.json" in bucket_files(root, "b1", "short")
        wait_for("the expired backup to be collected", lambda: k.get("backup", "short") is None, 90)
        assert bucket_files(root, "b1", "short") == []
        m = server.metrics()
        assert (metric(m, "velero_backup_deletion_success_total", schedule="") or 0) >= 1, m
        assert (metric(m, "velero_backup_success_total", schedule="often") or 0) >= 2
    finally:
        if server:
            server.stop()
        k.stop()


def sync(work):
    k1 = Kubesim(work, "k1")
    k2 = None
    root = os.path.join(work, "buckets")
    s1 = s2 = None
    try:
        k1.create_configmaps("app", 10)
        k1.apply(local_location("default", root, "shared"))
        s1 = Server(work, "server1", k1)
        wait_available(k1, "default")
        k1.apply(backup_obj("dr", ["app"]))
        wait_phase(k1, "backup", "dr", ["Completed"], server=s1)
        s1.stop()
        k1.stop()
        # A new cluster after the disaster: same bucket, nothing else.
        k2 = Kubesim(work, "k2")
        k2.apply(local_location("default", root, "shared"))
        s2 = Server(work, "server2", k2)
        wait_for("the backup to be synced into the new cluster", lambda: phase(k2, "backup", "dr") == "Completed", 60)
        b = k2.get("backup", "dr")
        assert b["metadata"]["labels"].get("velero.io/storage-location") == "default", b["metadata"]
        k2.apply(restore_obj("dr-restore", "dr"))
        wait_phase(k2, "restore", "dr-restore", ["Completed"], server=s2)
        assert k2.count("configmap", "app", "set=cm") == 10
        # A Completed backup removed from the bucket disappears from the cluster.
        shutil.rmtree(os.path.join(root, "shared", "backups", "dr"))
        wait_for("the vanished backup to be removed", lambda: k2.get("backup", "dr") is None, 60)
    finally:
        for s in (s1, s2):
            if s:
                s.stop()
        for k in (k1, k2):
            if k:
                k.stop()


class Azurite:
    def __init__(self, work):
        if not os.access(AZURITE, os.X_OK):
            raise SkipCase("azurite-blob is not installed at %s" % AZURITE)
        self.dir = os.path.join(work, "azurite")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.log = open(os.path.join(self.dir, "azurite.log"), "ab")
        self.proc = spawn([AZURITE, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                                      "--location", self.dir, "--silent", "--disableTelemetry"],
                                     stdout=self.log, stderr=self.log)
        def up():
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_for("azurite to listen", up, 60)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def endpoint(self, port=None):
        return "http://127.0.0.1:%d/%s" % (port or self.port, DEV_ACCOUNT)

    def create_container(self, name):
        """PUT ?restype=container with Shared Key authorization."""
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
        headers = {"x-ms-date": date, "x-ms-version": "2021-08-06"}
        canon_headers = "".join("%s:%s\n" % (h, headers[h]) for h in sorted(headers))
        resource = "/%s/%s/%s\nrestype:container" % (DEV_ACCOUNT, DEV_ACCOUNT, name)
        to_sign = "PUT\n\n\n\n\n\n\n\n\n\n\n\n" + canon_headers + resource
        sig = base64.b64encode(hmac.new(base64.b64decode(DEV_KEY), to_sign.encode(), hashlib.sha256).digest()).decode()
        headers["Authorization"] = "SharedKey %s:%s" % (DEV_ACCOUNT, sig)
        headers["Content-Length"] = "0"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("PUT", "/%s/%s?restype=container" % (DEV_ACCOUNT, name), headers=headers)
        r = c.getresponse()
        body = r.read()
        assert r.status in (201, 409), (r.status, body[:300])


class FaultProxy:
    """Forwards HTTP to a backend; answers 503 to a share of the requests (seeded)."""

    def __init__(self, backend_port, rate, seed=7):
        rnd = random.Random(seed)
        lock = threading.Lock()
        self.injected = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with lock:
                    fail = rnd.random() < rate
                    if fail:
                        proxy.injected += 1
                if fail:
                    msg = b"<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code><Message>injected</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(msg)))
                    self.send_header("Content-Type", "application/xml")
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(msg)
                    return
                c = http.client.HTTPConnection("127.0.0.1", backend_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                c.request(self.command, self.path, body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                self.send_response(r.status, r.reason)
                for k, v in r.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                # A HEAD answer carries the object's length and no body.
                self.send_header("Content-Length", r.getheader("Content-Length", "0") if self.command == "HEAD"
                                 else str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                c.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def azure_location(k, name, endpoint, container, default=False):
    k.kubectl("-n", NS, "create", "secret", "generic", "azure-" + name,
              "--from-literal=cloud=AZURE_STORAGE_KEY=%s\n" % DEV_KEY)
    k.apply({"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
             "metadata": {"name": name, "namespace": NS},
             "spec": {"provider": "azure", "default": default, "objectStorage": {"bucket": container},
                      "credential": {"name": "azure-" + name, "key": "cloud"},
                      "config": {"storageAccount": DEV_ACCOUNT, "storageAccountURI": endpoint}}})


def azure_unavailable(work):
    az = Azurite(work)
    k = Kubesim(work, "k1")
    server = None
    try:
        az.create_container("velero")
        k.create_configmaps("app", 5)
        azure_location(k, "azure", az.endpoint(), "velero", default=True)
        server = Server(work, "server", k)
        wait_available(k, "azure")
        k.apply(backup_obj("to-azure", ["app"]))
        wait_phase(k, "backup", "to-azure", ["Completed"], server=server)
        az.stop()
        wait_for("the location to become Unavailable",
                 lambda: phase(k, "backupstoragelocation", "azure") == "Unavailable", 60)
        msg = k.get("backupstoragelocation", "azure")["status"].get("message", "")
        assert msg, "an Unavailable location says why"
        assert DEV_KEY not in msg and DEV_KEY not in open(server.log_path, errors="replace").read()
        m = server.metrics()
        assert metric(m, "velero_backup_location_status_gauge", backup_location_name="azure") == 0, m
        k.apply(backup_obj("while-down", ["app"]))
        wait_phase(k, "backup", "while-down", ["FailedValidation"], server=server)
        errs = " ".join(k.get("backup", "while-down")["status"].get("validationErrors", []))
        assert "Unavailable" in errs, errs
        az.start()
        wait_available(k, "azure", 60)
        k.apply(backup_obj("after", ["app"]))
        wait_phase(k, "backup", "after", ["Completed"], server=server)
    finally:
        if server:
            server.stop()
        k.stop()
        az.stop()


def crash_backup(work):
    # Every API request takes 100 ms more, so the backup runs for several seconds.
    k = Kubesim(work, "k1", "--fault-latency-ms", "100")
    root = os.path.join(work, "buckets")
    server = None
    try:
        k.create_configmaps("big", 3000, size=256)
        k.apply(local_location("default", root, "b1"))
        # Checkpoints every 200 ms (5 s by default), so some are taken before the kill.
        server = Server(work, "server", k, "--backup-checkpoint-interval", "200ms")
        wait_available(k, "default")
        k.apply(backup_obj("large", ["big"]))
        wait_phase(k, "backup", "large", ["InProgress"], server=server)
        time.sleep(1.5)
        assert phase(k, "backup", "large") == "InProgress", "the backup ended before it could be interrupted"
        log("killing the server with SIGKILL during the backup")
        server.kill9()
        assert "velero-backup.json" not in bucket_files(root, "b1", "large"), "an interrupted backup looks complete"
        assert phase(k, "backup", "large") == "InProgress"
        server.start()
        wait_phase(k, "backup", "large", ["Completed"], timeout=300, server=server)
        b = k.get("backup", "large")
        assert b["metadata"].get("annotations", {}).get("lifeboat.io/resumed") == "1", b["metadata"]
        names = archive_names(os.path.join(root, "b1", "backups", "large", "large.tar.gz"))
        cms = [n for n in names if re.fullmatch(r"resources/configmaps/namespaces/big/cm-\d{5}\.json", n)]
        assert len(cms) == 3000 and len(set(cms)) == 3000, len(cms)
        assert b["status"]["progress"]["itemsBackedUp"] == b["status"]["progress"]["totalItems"], b["status"]
        # The restarted server went on from the dead one's last checkpoint, not from the start.
        with open(server.log_path, errors="replace") as f:
            resumed = re.findall(r"backup velero/large: resuming from its checkpoint after (\d+) items", f.read())
        assert resumed and int(resumed[-1]) > 0, "the backup was not resumed from a checkpoint"
        log("resumed from a checkpoint after %s items" % resumed[-1])
        journal = os.path.join(work, "lifeboat-journal")
        assert not os.path.isdir(journal) or not os.listdir(journal), os.listdir(journal)
    finally:
        if server:
            server.stop()
        k.stop()


def crash_restore(work):
    k = Kubesim(work, "k1", "--fault-latency-ms", "30")
    root = os.path.join(work, "buckets")
    server = None
    try:
        k.create_configmaps("big", 3000, size=256)
        k.apply(local_location("default", root, "b1"))
        server = Server(work, "server", k)
        wait_available(k, "default")
        k.apply(backup_obj("src", ["big"]))
        wait_phase(k, "backup", "src", ["Completed"], timeout=300, server=server)
        k.kubectl("delete", "namespace", "big", "--wait=true", "--timeout=120s")
        k.apply(restore_obj("back", "src"))

        def partly():
            n = k.count("configmap", "big", "set=cm")
            return 0 < n < 2500 and n
        n = wait_for("the restore to be under way", partly, 120, 0.05)
        log("killing the server with SIGKILL after %d ConfigMaps were restored" % n)
        server.kill9()
        assert phase(k, "restore", "back") == "InProgress"
        server.start()
        wait_phase(k, "restore", "back", ["Completed"], timeout=300, server=server)
        r = k.get("restore", "back")
        assert r["metadata"].get("annotations", {}).get("lifeboat.io/resumed") == "1", r["metadata"]
        assert k.count("configmap", "big", "set=cm") == 3000
        assert r["status"].get("errors", 0) == 0, r["status"]
        # The only warning is the one every restore into a live namespace gets (as with Velero):
        # the API server's own kube-root-ca.crt differs from the backed-up one. Nothing the
        # interrupted run created is reported as "already exists".
        with gzip.open(os.path.join(root, "b1", "restores", "back", "restore-back-results.gz")) as f:
            results = json.load(f)
        warned = json.dumps(results.get("warnings", {}))
        assert "cm-" not in warned, warned
        assert r["status"].get("warnings", 0) <= 1, results
    finally:
        if server:
            server.stop()
        k.stop()


def cancel_backup(work):
    k = Kubesim(work, "k1", "--fault-latency-ms", "100")
    root = os.path.join(work, "buckets")
    server = None
    try:
        k.create_configmaps("big", 2000, size=256)
        k.apply(local_location("default", root, "b1"))
        server = Server(work, "server", k)
        wait_available(k, "default")
        k.apply(backup_obj("stopme", ["big"]))
        wait_phase(k, "backup", "stopme", ["InProgress"], server=server)
        k.kubectl("-n", NS, "annotate", "backup", "stopme", "lifeboat.io/cancel=true")
        wait_phase(k, "backup", "stopme", ["Failed"], timeout=60, server=server)
        st = k.get("backup", "stopme")["status"]
        assert "cancel" in st.get("failureReason", "").lower(), st
        assert "velero-backup.json" not in bucket_files(root, "b1", "stopme")
        # The server still works afterwards.
        k.apply(backup_obj("next", ["kube-system"]))
        wait_phase(k, "backup", "next", ["Completed"], timeout=120, server=server)
    finally:
        if server:
            server.stop()
        k.stop()


def faults(work):
    az = Azurite(work)
    proxy = FaultProxy(az.port, rate=0.15)
    k = Kubesim(work, "k1")
    server = None
    try:
        az.create_container("velero")
        k.create_configmaps("app", 200)
        azure_location(k, "default", az.endpoint(proxy.port), "velero", default=True)
        # From here on the API server throttles and fails requests and drops watches.
        k.restart("--fault-429-rate", "0.05", "--fault-500-rate", "0.05",
                  "--fault-watch-drop-ms", "700", "--fault-seed", "3")
        server = Server(work, "server", k)
        wait_available(k, "default", 90)
        k.apply(backup_obj("flaky", ["app"]))
        wait_phase(k, "backup", "flaky", ["Completed"], timeout=240, server=server)
        k.kubectl("delete", "namespace", "app", "--wait=true", "--timeout=120s")
        k.apply(restore_obj("flaky-restore", "flaky"))
        wait_phase(k, "restore", "flaky-restore", ["Completed"], timeout=240, server=server)
        assert k.count("configmap", "app", "set=cm") == 200
        assert proxy.injected > 0, "no bucket fault was injected"
        log("bucket 503s injected: %d" % proxy.injected)
    finally:
        if server:
            server.stop()
        k.stop()
        proxy.stop()
        az.stop()


class SkipCase(Exception):
    pass


ALL = {f.__name__: f for f in (backup_restore, schedule_ttl_delete, sync, azure_unavailable, crash_backup,
                               crash_restore, cancel_backup, faults)}


def run_cases(cases, names, prefix):
    """Runs each named case (all of `cases` when none is named) in its own work directory, kept
    when the case fails; prints ok/skip/FAIL lines. Returns the process exit code."""
    failed = 0
    for name in names or list(cases):
        work = tempfile.mkdtemp(prefix="%s-%s-" % (prefix, name))
        start = time.monotonic()
        try:
            cases[name](work)
            print("ok   %s (%.1fs)" % (name, time.monotonic() - start), flush=True)
            shutil.rmtree(work, ignore_errors=True)
        except SkipCase as e:
            print("skip %s: %s" % (name, e), flush=True)
            shutil.rmtree(work, ignore_errors=True)
        except Exception:  # noqa: BLE001 - report every failure
            failed += 1
            print("FAIL %s (%.1fs): %s\n  (work directory kept: %s)" % (
                name, time.monotonic() - start, traceback.format_exc(), work), flush=True)
    return 1 if failed else 0


def main():
    return run_cases(ALL, CASES, "lifeboat-server")


if __name__ == "__main__":
    sys.exit(main())
