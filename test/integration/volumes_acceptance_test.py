#!/usr/bin/python3
"""Volume data end to end (issue 8): real processes — kubesim over HTTPS with its simulated CSI
driver and snapshot controller, the lifeboat server, the real kubectl — and the volumes' files
compared by SHA-256 on disk.

  volumes_acceptance_test.py KUBESIM LIFEBOAT PRINT_CRDS CASE...

  csi_round_trip   a StatefulSet writes files into its CSI volumes; pre/post hooks mark them; a
                   backup snapshots them (the snapshot holds the pre-hook marker and not the
                   post-hook one); the namespace and its volumes are deleted; a restore brings
                   the files back identical; a second restore maps the namespace; a second
                   cluster sharing the snapshot directory restores them too; deleting the
                   backup deletes its VolumeSnapshotContents and the snapshot data
  failing_hook     a pre hook that fails with onError Fail: that pod's volume is not
                   snapshotted, the backup is PartiallyFailed and says why; the other pod's
                   volume is snapshotted
  expiry           a backup past its TTL is garbage-collected together with its snapshots
"""
import gzip
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_acceptance_test as sat  # noqa: E402  (same argv: KUBESIM LIFEBOAT PRINT_CRDS CASE...)
from server_acceptance_test import (Kubesim, Server, backup_obj, local_location, log,  # noqa: E402
                                    restore_obj, wait_available, wait_for, wait_phase)

CASES = sys.argv[4:]
NS = sat.NS
APP = "shop"


def hook_annotations(pre_fails_for=None):
    pre = 'echo pre > "$KUBESIM_ROOT/data/.pre-marker"'
    if pre_fails_for is not None:
        # Fails only in the named pod (POD_NAME is set by kubesim's exec).
        pre = '[ "$POD_NAME" != "%s" ] || { echo frozen-fs-busy >&2; exit 3; }; %s' % (pre_fails_for, pre)
    return {
        "pre.hook.backup.velero.io/container": "db",
        "pre.hook.backup.velero.io/command": json.dumps(["/bin/sh", "-c", pre]),
        "pre.hook.backup.velero.io/on-error": "Fail",
        "post.hook.backup.velero.io/container": "db",
        "post.hook.backup.velero.io/command": json.dumps(
            ["/bin/sh", "-c", 'echo post > "$KUBESIM_ROOT/data/.post-marker"']),
    }


def statefulset(ns, annotations):
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": ns, "labels": {"app": "db"}},
        "spec": {
            "serviceName": "db", "replicas": 2,
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}, "annotations": annotations},
                "spec": {"containers": [{"name": "db", "image": "postgres:16",
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "csi-hostpath",
                         "resources": {"requests": {"storage": "1Gi"}}}}]}}


def deploy_app(k, annotations):
    k.kubectl("create", "namespace", APP)
    k.apply(statefulset(APP, annotations))
    k.kubectl("-n", APP, "rollout", "status", "statefulset/db", "--timeout=90s")
    for i in (0, 1):
        k.kubectl("-n", APP, "exec", "db-%d" % i, "--", "sh", "-c",
                  'for n in 1 2 3; do head -c 200000 /dev/urandom > "$KUBESIM_ROOT/data/table-$n.dat"; done; '
                  'mkdir -p "$KUBESIM_ROOT/data/wal" && echo "row %d" > "$KUBESIM_ROOT/data/wal/0001"' % i)


def pv_dir(k, ns, pvc):
    claim = k.get("pvc", pvc, ns)
    assert claim and claim["status"].get("phase") == "Bound", "claim %s/%s is not Bound: %s" % (
        ns, pvc, claim and claim.get("status"))
    return os.path.join(k.dir, "data", "volumes", claim["spec"]["volumeName"])


def tree_digest(root, skip_markers=True):
    """{relative path: sha256} of every regular file under root (hook markers left out)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if skip_markers and f.startswith(".") and f.endswith("-marker"):
                continue
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def volumes_digest(k, ns):
    return {i: tree_digest(pv_dir(k, ns, "data-db-%d" % i)) for i in (0, 1)}


def cluster_list(k, kind, selector=None):
    args = ["get", kind, "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(k.kubectl(*args).stdout)["items"]


def cluster_get(k, kind, name):
    r = k.kubectl("get", kind, name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def backup_vscs(k, backup):
    return cluster_list(k, "volumesnapshotcontents", "velero.io/backup-name=" + backup)


def start_cluster(work, name, snapdir):
    return Kubesim(work, name, "--snapshot-dir", snapdir)


def status_of(k, kind, name):
    return (k.get(kind, name) or {}).get("status", {})


def csi_round_trip(work):
    snapdir = os.path.join(work, "snapshots")
    root = os.path.join(work, "buckets")
    k = start_cluster(work, "k1", snapdir)
    k2 = server = server2 = None
    try:
        deploy_app(k, hook_annotations())
        before = volumes_digest(k, APP)
        assert all(len(d) == 4 for d in before.values()), before
        k.apply(local_location("default", root, "bucket1"))
        server = Server(work, "server", k)
        wait_available(k, "default")

        k.apply(backup_obj("b1", [APP]))
        wait_phase(k, "backup", "b1", ["Completed"], timeout=180, server=server)
        st = status_of(k, "backup", "b1")
        log("backup status: %s" % json.dumps(st))
        assert st.get("csiVolumeSnapshotsAttempted") == 2 and st.get("csiVolumeSnapshotsCompleted") == 2, st
        assert st.get("hookStatus", {}).get("hooksAttempted") == 4, st
        assert not st.get("hookStatus", {}).get("hooksFailed"), st

        # The snapshots belong to the backup now: Retain, labelled, the VolumeSnapshots gone.
        vscs = backup_vscs(k, "b1")
        assert len(vscs) == 2, [v["metadata"]["name"] for v in vscs]
        assert all(v["spec"]["deletionPolicy"] == "Retain" for v in vscs), vscs
        assert not k.list("volumesnapshots", ns=APP), "the backup left VolumeSnapshots behind"
        handles = [v["status"]["snapshotHandle"] for v in vscs]
        for h in handles:
            d = os.path.join(snapdir, h)
            assert os.path.isfile(os.path.join(d, ".pre-marker")), "pre hook ran after the snapshot of %s" % h
            assert not os.path.exists(os.path.join(d, ".post-marker")), "post hook ran before the snapshot of %s" % h
        for i in (0, 1):  # the post hooks did run, afterwards
            assert os.path.isfile(os.path.join(pv_dir(k, APP, "data-db-%d" % i), ".post-marker"))
        snap_digests = sorted(json.dumps(tree_digest(os.path.join(snapdir, h)), sort_keys=True) for h in handles)
        assert snap_digests == sorted(json.dumps(before[i], sort_keys=True) for i in (0, 1)), \
            "the snapshots do not hold the volumes' files"

        # Volume info in the bucket says CSISnapshot for both volumes.
        vi_path = os.path.join(root, "bucket1", "backups", "b1", "b1-volumeinfo.json.gz")
        with gzip.open(vi_path, "rt") as f:
            infos = json.load(f)
        assert sorted(i["pvcName"] for i in infos) == ["data-db-0", "data-db-1"], infos
        assert all(i["backupMethod"] == "CSISnapshot" and i["csiSnapshotInfo"]["snapshotHandle"] in handles
                   for i in infos), infos

        # The disaster: the namespace and its volumes go.
        old_pvs = [k.get("pvc", "data-db-%d" % i, APP)["spec"]["volumeName"] for i in (0, 1)]
        k.kubectl("delete", "namespace", APP, "--wait=true", "--timeout=120s")
        wait_for("the volumes to be deleted",
                 lambda: all(cluster_get(k, "pv", pv) is None for pv in old_pvs), 60)
        for pv in old_pvs:
            assert not os.path.exists(os.path.join(k.dir, "data", "volumes", pv)), "volume data survived"

        k.apply(restore_obj("r1", "b1"))
        wait_phase(k, "restore", "r1", ["Completed"], timeout=180, server=server)
        k.kubectl("-n", APP, "rollout", "status", "statefulset/db", "--timeout=90s")
        wait_for("restored claims Bound",
                 lambda: all((k.get("pvc", "data-db-%d" % i, APP) or {}).get("status", {}).get("phase") == "Bound"
                             for i in (0, 1)), 60)
        after = volumes_digest(k, APP)
        assert after == before, "restored files differ:\n%s\n%s" % (before, after)
        log("restore r1: both volumes identical (%d files each)" % len(after[0]))

        # A namespace mapping, while the original is still there.
        k.apply(restore_obj("r2", "b1", namespaceMapping={APP: "shop-copy"}))
        wait_phase(k, "restore", "r2", ["Completed"], timeout=180, server=server)
        wait_for("mapped claims Bound",
                 lambda: all((k.get("pvc", "data-db-%d" % i, "shop-copy") or {}).get("status", {}).get("phase") == "Bound"
                             for i in (0, 1)), 60)
        assert volumes_digest(k, "shop-copy") == before
        log("restore r2 (namespace mapped): identical")

        # A second cluster sharing the snapshot directory and the bucket.
        k2 = start_cluster(work, "k2", snapdir)
        k2.apply(local_location("default", root, "bucket1"))
        server2 = Server(work, "server2", k2)
        wait_available(k2, "default")
        wait_for("backup b1 synced into the second cluster", lambda: k2.get("backup", "b1") is not None, 60)
        k2.apply(restore_obj("r3", "b1"))
        wait_phase(k2, "restore", "r3", ["Completed"], timeout=180, server=server2)
        wait_for("claims Bound in the second cluster",
                 lambda: all((k2.get("pvc", "data-db-%d" % i, APP) or {}).get("status", {}).get("phase") == "Bound"
                             for i in (0, 1)), 60)
        assert volumes_digest(k2, APP) == before
        log("restore r3 (second cluster): identical")
        server2.stop()
        server2 = None

        # Deleting the backup deletes its snapshots.
        k.apply({"apiVersion": "velero.io/v1", "kind": "DeleteBackupRequest",
                 "metadata": {"name": "del-b1", "namespace": NS}, "spec": {"backupName": "b1"}})
        wait_for("backup b1 deleted", lambda: k.get("backup", "b1") is None, 120)
        wait_for("the backup's VolumeSnapshotContents deleted", lambda: not backup_vscs(k, "b1"), 60)
        wait_for("the snapshot data removed",
                 lambda: not any(os.path.exists(os.path.join(snapdir, h)) for h in handles), 60)
        assert volumes_digest(k, APP) == before, "deleting the backup touched the restored volumes"
    finally:
        for s in (server, server2):
            if s:
                s.stop()
        for c in (k, k2):
            if c:
                c.stop()


def failing_hook(work):
    snapdir = os.path.join(work, "snapshots")
    root = os.path.join(work, "buckets")
    k = start_cluster(work, "k1", snapdir)
    server = None
    try:
        deploy_app(k, hook_annotations(pre_fails_for="db-1"))
        k.apply(local_location("default", root, "bucket1"))
        server = Server(work, "server", k)
        wait_available(k, "default")
        k.apply(backup_obj("b1", [APP]))
        wait_phase(k, "backup", "b1", ["PartiallyFailed"], timeout=180, server=server)
        st = status_of(k, "backup", "b1")
        log("backup status: %s" % json.dumps(st))
        assert st.get("csiVolumeSnapshotsCompleted") == 1, st
        assert st.get("hookStatus", {}).get("hooksFailed") == 1, st
        vscs = backup_vscs(k, "b1")
        assert len(vscs) == 1, vscs
        # The one snapshot is db-0's and was taken between its hooks.
        h = vscs[0]["status"]["snapshotHandle"]
        assert os.path.isfile(os.path.join(snapdir, h, ".pre-marker"))
        assert tree_digest(os.path.join(snapdir, h)) == tree_digest(pv_dir(k, APP, "data-db-0"))
        # db-1's volume was not snapshotted, and the results say why.
        assert not k.list("volumesnapshots", ns=APP)
        with gzip.open(os.path.join(root, "bucket1", "backups", "b1", "b1-results.gz"), "rt") as f:
            results = f.read()
        log("results: %s" % results[:2000])
        assert "db-1" in results, results
        with gzip.open(os.path.join(root, "bucket1", "backups", "b1", "b1-volumeinfo.json.gz"), "rt") as f:
            infos = {i["pvcName"]: i for i in json.load(f)}
        assert infos["data-db-0"]["backupMethod"] == "CSISnapshot", infos
        assert infos["data-db-1"].get("skipped") is True, infos
        assert "db-1" in infos["data-db-1"].get("skippedReason", ""), infos
    finally:
        if server:
            server.stop()
        k.stop()


def expiry(work):
    snapdir = os.path.join(work, "snapshots")
    root = os.path.join(work, "buckets")
    k = start_cluster(work, "k1", snapdir)
    server = None
    try:
        deploy_app(k, {})
        k.apply(local_location("default", root, "bucket1"))
        server = Server(work, "server", k)
        wait_available(k, "default")
        # A TTL long enough that a poll slowed by a loaded machine still sees it Completed
        # before gc collects it (3 s raced in CI).
        k.apply(backup_obj("short", [APP], ttl="20s"))
        wait_phase(k, "backup", "short", ["Completed"], timeout=180, server=server)
        handles = [v["status"]["snapshotHandle"] for v in backup_vscs(k, "short")]
        assert len(handles) == 2, handles
        wait_for("the expired backup to be collected", lambda: k.get("backup", "short") is None, 120)
        wait_for("its VolumeSnapshotContents deleted", lambda: not backup_vscs(k, "short"), 60)
        wait_for("its snapshot data removed",
                 lambda: not any(os.path.exists(os.path.join(snapdir, h)) for h in handles), 60)
        assert not os.path.exists(os.path.join(root, "bucket1", "backups", "short"))
    finally:
        if server:
            server.stop()
        k.stop()


ALL = {f.__name__: f for f in (csi_round_trip, failing_hook, expiry)}


def main():
    return sat.run_cases(ALL, CASES, "lifeboat-volumes")


if __name__ == "__main__":
    sys.exit(main())
