#!/usr/bin/python3
"""kubesim's fault injection flags and crash safety, against the real binary.

  kubesim_faults_restart_test.py /path/to/kubesim

- --fault-429-rate 1 / --fault-500-rate 1: every API request fails with a proper Status (429
  with Retry-After), probes stay healthy;
- --fault-latency-ms: requests take at least that long;
- --fault-watch-drop-ms: watches end early;
- kill -9 while clients create objects, restart on the same data dir: every create that was
  acknowledged is there, and the cluster serves again; --fresh starts empty.
"""
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BIN = sys.argv[1]
passed = failed = 0


def case(fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok   " + fn.__name__)
    except Exception as e:  # noqa: BLE001 - report every failure and go on
        failed += 1
        print("FAIL %s: %r" % (fn.__name__, e))
    return fn


class Kubesim:
    def __init__(self, data_dir, *flags):
        self.dir = data_dir
        os.makedirs(data_dir, exist_ok=True)
        kubeconfig = os.path.join(data_dir, "kubeconfig")
        if os.path.exists(kubeconfig):
            os.remove(kubeconfig)
        self.stderr = open(os.path.join(data_dir, "stderr"), "ab")
        self.proc = subprocess.Popen([BIN, "--data-dir", data_dir, "--listen", "127.0.0.1:0",
                                      "--write-kubeconfig", kubeconfig, "--log-level", "warn", *flags],
                                     stdout=subprocess.DEVNULL, stderr=self.stderr)
        for _ in range(400):
            if os.path.exists(kubeconfig) and os.path.getsize(kubeconfig) > 0:
                break
            if self.proc.poll() is not None:
                raise RuntimeError("kubesim exited early")
            time.sleep(0.05)
        text = open(kubeconfig).read()
        self.server = [l.split()[-1] for l in text.splitlines() if "server:" in l][0]
        # The admin's token is the first in the kubeconfig.
        self.token = [l.split()[-1] for l in text.splitlines() if l.strip().startswith("token:")][0]
        self.ctx = ssl.create_default_context(cafile=os.path.join(data_dir, "pki", "ca.crt"))

    def request(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=timeout) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def kill(self, sig=signal.SIGKILL):
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)


def with_kubesim(*flags):
    def wrap(fn):
        def run():
            with tempfile.TemporaryDirectory(prefix="kubesim-faults-") as d:
                k = Kubesim(d, *flags)
                try:
                    fn(k)
                finally:
                    k.stop()
        run.__name__ = fn.__name__
        return case(run)
    return wrap


@with_kubesim("--fault-429-rate", "1", "--fault-retry-after", "7", "--fault-seed", "1")
def throttling_is_429_with_retry_after(k):
    code, headers, body = k.request("GET", "/api/v1/namespaces")
    assert code == 429, code
    assert headers.get("Retry-After") == "7", headers
    status = json.loads(body)
    assert status["kind"] == "Status" and status["reason"] == "TooManyRequests", status
    assert status.get("details", {}).get("retryAfterSeconds") == 7, status
    code, _, _ = k.request("GET", "/healthz")
    assert code == 200, "probes are not throttled: %d" % code


@with_kubesim("--fault-500-rate", "1", "--fault-seed", "1")
def server_errors_are_500_status(k):
    code, _, body = k.request("POST", "/api/v1/namespaces/default/configmaps",
                              {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
    assert code == 500, code
    status = json.loads(body)
    assert status["reason"] == "InternalError", status


@with_kubesim("--fault-latency-ms", "300")
def latency_is_added(k):
    start = time.monotonic()
    code, _, _ = k.request("GET", "/api/v1/namespaces")
    assert code == 200, code
    assert time.monotonic() - start >= 0.3, "answered before the injected latency"


@with_kubesim("--fault-watch-drop-ms", "300")
def watches_are_dropped(k):
    # Without the fault this watch would last 60 s; the test only needs it to end well before.
    start = time.monotonic()
    code, _, _ = k.request("GET", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=60", timeout=30)
    assert code == 200, code
    assert time.monotonic() - start < 30, "watch was not dropped"


@case
def acknowledged_writes_survive_kill_9():
    with tempfile.TemporaryDirectory(prefix="kubesim-crash-") as d:
        k = Kubesim(d)
        acked = []
        stop = threading.Event()

        def writer(worker):
            i = 0
            while not stop.is_set():
                name = "cm-%d-%d" % (worker, i)
                try:
                    code, _, _ = k.request("POST", "/api/v1/namespaces/default/configmaps",
                                           {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                                            "data": {"i": str(i)}}, timeout=5)
                except Exception:  # noqa: BLE001 - the server is being killed
                    return
                if code == 201:
                    acked.append(name)
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        k.kill(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join()
        assert len(acked) >= 300, "only %d creates acknowledged" % len(acked)
        k2 = Kubesim(d)
        try:
            code, _, body = k2.request("GET", "/api/v1/namespaces/default/configmaps")
            assert code == 200, code
            have = {item["metadata"]["name"] for item in json.loads(body)["items"]}
            missing = [n for n in acked if n not in have]
            assert not missing, "%d acknowledged creates lost, e.g. %s" % (len(missing), missing[:3])
            code, _, _ = k2.request("POST", "/api/v1/namespaces/default/configmaps",
                                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after-restart"}})
            assert code == 201, code
        finally:
            k2.stop()
        k3 = Kubesim(d, "--fresh")
        try:
            code, _, body = k3.request("GET", "/api/v1/namespaces/default/configmaps")
            names = {item["metadata"]["name"] for item in json.loads(body)["items"]}
            assert not any(n.startswith("cm-") for n in names), "--fresh kept old objects"
        finally:
            k3.stop()


@with_kubesim()
def second_kubesim_on_the_same_data_dir_is_refused(k):
    # It would read the log while the first one rewrites it; it must refuse, clearly.
    r = subprocess.run([BIN, "--data-dir", k.dir, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, r.returncode
    assert "in use by another kubesim" in r.stderr, r.stderr
    code, _, _ = k.request("GET", "/api/v1/namespaces/default/configmaps")
    assert code == 200, code


print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
