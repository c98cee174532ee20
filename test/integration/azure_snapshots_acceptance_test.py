#!/usr/bin/python3
"""Native Azure managed-disk snapshots end to end (issue 8): real processes — kubesim over HTTPS,
the lifeboat server, the real kubectl — and the local Azure Resource Manager contract server
(src/volume/azure/testing/arm_server.h, run as `arm_contract_server`) standing in for Azure. The
server reaches it through AZURE_RESOURCE_MANAGER_ENDPOINT and AZURE_AUTHORITY_HOST, with a
service-principal credentials file (Velero's format) from the VolumeSnapshotLocation's
spec.credential Secret. What exists in "Azure" is read from the contract server's test-only
/_test/state endpoint.

  azure_snapshots_acceptance_test.py KUBESIM LIFEBOAT PRINT_CRDS ARM_CONTRACT_SERVER CASE...

  azure_snapshot_round_trip  an in-tree azureDisk PV and a disk.csi.azure.com PV bound to claims
                             in `app`; a backup snapshots both disks through ARM (Velero's tags,
                             the IDs recorded in <b>-volumesnapshots.json.gz); the namespace and
                             the PVs are deleted; a restore brings the PVs back on NEW disks
                             created from the snapshots; a DeleteBackupRequest deletes the backup
                             and both ARM snapshots (the restored disks stay)
  azure_snapshot_expiry      a backup with ttl 3s is garbage-collected with its ARM snapshot
  azure_orphan_report        a snapshot tagged for a backup that does not exist is reported in
                             /metrics (lifeboat_orphaned_volume_snapshots) and the log; one
                             tagged for an existing backup is not
  azure_throttled            429s with Retry-After on the disk GET, the snapshot PUT and the
                             operation poll do not fail a backup (Completed); a failed
                             long-running operation makes the next backup PartiallyFailed with
                             the ARM error in its results
  azure_expiry_retried       an expired backup whose first snapshot deletion got a 403 (a
                             resource lock, a missing role assignment then fixed) is collected
                             on a later gc round
"""
import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request

ARM_BINARY = sys.argv[4] if len(sys.argv) > 4 else ""
# server_acceptance_test reads KUBESIM LIFEBOAT PRINT_CRDS from argv[1:4] and its cases from the
# rest: hide ours from it.
_argv = sys.argv
sys.argv = sys.argv[:4]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_acceptance_test as sat  # noqa: E402
from server_acceptance_test import (Kubesim, Server, backup_obj, local_location, log,  # noqa: E402
                                    metric, restore_obj, spawn, wait_available, wait_for,
                                    wait_phase)
sys.argv = _argv
CASES = sys.argv[5:]
NS = sat.NS
APP = "app"

SUB = "0f7a1b2c-0000-4000-8000-00000000d15c"        # the cluster's disks (AZURE_SUBSCRIPTION_ID)
DISK_RG = "MC_lifeboat_aks_westeurope"              # AZURE_RESOURCE_GROUP
SNAP_SUB = "0f7a1b2c-0000-4000-8000-0000000005a9"   # the VSL's subscriptionId
SNAP_RG = "lifeboat-snapshots"                      # the VSL's resourceGroup
TENANT, CLIENT_ID, CLIENT_SECRET = "tenant-e2e", "client-e2e", "sp-secret-e2e-Do-Not-Log"
LOCATION = "westeurope"


def disk_id(name, sub=SUB, rg=DISK_RG):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s" % (sub, rg, name)


def snapshot_id(name, sub=SNAP_SUB, rg=SNAP_RG):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/snapshots/%s" % (sub, rg, name)


class Arm:
    """The arm_contract_server process."""

    def __init__(self, work, *flags):
        self.log_path = os.path.join(work, "arm.log")
        self.log = open(self.log_path, "ab")
        self.proc = spawn([ARM_BINARY, "--tenant", TENANT, "--client-id", CLIENT_ID,
                           "--client-secret", CLIENT_SECRET,
                           "--resource-group", "%s/%s" % (SNAP_SUB, SNAP_RG), *flags],
                          stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("arm_contract_server exited (%s) before listening" % self.proc.wait())
        hello = json.loads(line)
        self.endpoint, self.authority = hello["endpoint"], hello["authorityHost"]
        log("ARM contract server at %s" % self.endpoint)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.endpoint + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def state(self):
        return self.call("GET", "/_test/state")

    def snapshots(self, backup=None):
        out = self.state()["snapshots"]
        if backup is not None:
            out = [s for s in out if s.get("tags", {}).get("velero.io-backup") == backup]
        return out

    def disks(self):
        return {d["id"]: d for d in self.state()["disks"]}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def intree_pv(name, claim, disk, zone="westeurope-1"):
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {"capacity": {"storage": "32Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                     "claimRef": {"namespace": APP, "name": claim},
                     "azureDisk": {"kind": "Managed", "diskName": disk, "diskURI": disk_id(disk),
                                   "cachingMode": "ReadOnly", "fsType": "ext4", "readOnly": False}}}


def csi_pv(name, claim, disk, zone="westeurope-2"):
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": zone}},
            "spec": {"capacity": {"storage": "32Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                     "claimRef": {"namespace": APP, "name": claim},
                     "csi": {"driver": "disk.csi.azure.com", "volumeHandle": disk_id(disk),
                             "fsType": "ext4"}}}


def claim(name, volume):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": APP},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": volume,
                     "resources": {"requests": {"storage": "32Gi"}}}}


def claim_bound(k, name):
    return (k.get("pvc", name, APP) or {}).get("status", {}).get("phase") == "Bound"


def deploy_app(k, volumes):
    """volumes: [(pv object, claim name)]; creates them and waits until every claim is Bound."""
    k.kubectl("create", "namespace", APP)
    k.kubectl("-n", APP, "create", "configmap", "settings", "--from-literal=mode=prod")
    for pv, c in volumes:
        k.apply(pv)
        k.apply(claim(c, pv["metadata"]["name"]))
    wait_for("the claims to be Bound", lambda: all(claim_bound(k, c) for _, c in volumes), 60)


def configure(k, work):
    """The credentials Secret, the VolumeSnapshotLocation `default` and a local BSL."""
    creds = "".join("%s=%s\n" % kv for kv in (
        ("AZURE_SUBSCRIPTION_ID", SUB), ("AZURE_TENANT_ID", TENANT), ("AZURE_CLIENT_ID", CLIENT_ID),
        ("AZURE_CLIENT_SECRET", CLIENT_SECRET), ("AZURE_RESOURCE_GROUP", DISK_RG),
        ("AZURE_CLOUD_NAME", "AzurePublicCloud")))
    k.kubectl("-n", NS, "create", "secret", "generic", "azure-snapshot-credentials",
              "--from-literal=cloud=" + creds)
    k.apply({"apiVersion": "velero.io/v1", "kind": "VolumeSnapshotLocation",
             "metadata": {"name": "default", "namespace": NS},
             "spec": {"provider": "azure",
                      "credential": {"name": "azure-snapshot-credentials", "key": "cloud"},
                      "config": {"resourceGroup": SNAP_RG, "subscriptionId": SNAP_SUB,
                                 "apiTimeout": "2m"}}})
    root = os.path.join(work, "buckets")
    k.apply(local_location("default", root, "bucket1"))
    return root


def start_server(work, k, arm):
    os.environ["AZURE_RESOURCE_MANAGER_ENDPOINT"] = arm.endpoint
    os.environ["AZURE_AUTHORITY_HOST"] = arm.authority
    # Nothing of a real Azure identity may leak in from the environment running the test.
    for v in ("AZURE_CREDENTIALS_FILE", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_SUBSCRIPTION_ID",
              "AZURE_RESOURCE_GROUP", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        os.environ.pop(v, None)
    server = Server(work, "server", k, "--orphan-snapshot-check-frequency", "1s")
    wait_available(k, "default")
    return server


def bucket_json(root, backup, suffix):
    with gzip.open(os.path.join(root, "bucket1", "backups", backup, backup + suffix), "rt") as f:
        return json.load(f)


def results_text(root, backup):
    with gzip.open(os.path.join(root, "bucket1", "backups", backup, backup + "-results.gz"), "rt") as f:
        return f.read()


def status_of(k, kind, name):
    return (k.get(kind, name) or {}).get("status", {})


def server_log(server):
    with open(server.log_path, errors="replace") as f:
        return f.read()


def assert_no_secret(server):
    assert CLIENT_SECRET not in server_log(server), "the client secret is in the server's log"


def cluster_get(k, kind, name):
    r = k.kubectl("get", kind, name, "-o", "json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def delete_app(k, pvs):
    k.kubectl("delete", "namespace", APP, "--wait=true", "--timeout=120s")
    for pv in pvs:
        k.kubectl("delete", "pv", pv, "--wait=true", "--timeout=60s")
    wait_for("the PVs to be gone", lambda: all(cluster_get(k, "pv", pv) is None for pv in pvs), 60)


def check_snapshot_of(arm, snap, backup, pv, disk):
    """An ARM snapshot made by the backup: Velero's tags, copied from the disk."""
    tags = snap.get("tags", {})
    assert tags.get("velero.io-backup") == backup, tags
    assert tags.get("velero.io-pv") == pv, tags
    assert tags.get("velero.io-storage-location") == "default", tags
    assert not any("/" in t for t in tags), tags  # Azure forbids '/' in tag names
    cd = snap["properties"]["creationData"]
    assert cd == {"createOption": "Copy", "sourceResourceId": disk_id(disk)}, cd
    assert snap["location"] == LOCATION and snap["properties"]["provisioningState"] == "Succeeded", snap
    assert snap["name"].startswith(disk + "-"), snap["name"]


# ------------------------------------------------------------------------------------------ cases

def azure_snapshot_round_trip(work):
    arm = Arm(work, "--disk", disk_id("pvc-disk-intree") + ":" + LOCATION + ":Premium_LRS",
              "--disk", disk_id("pvc-disk-csi") + ":" + LOCATION + ":StandardSSD_LRS")
    k = Kubesim(work, "k1")
    server = None
    try:
        deploy_app(k, [(intree_pv("pv-intree", "data-intree", "pvc-disk-intree"), "data-intree"),
                       (csi_pv("pv-csi", "data-csi", "pvc-disk-csi"), "data-csi")])
        root = configure(k, work)
        server = start_server(work, k, arm)

        k.apply(backup_obj("b1", [APP]))
        wait_phase(k, "backup", "b1", ["Completed"], timeout=180, server=server)
        st = status_of(k, "backup", "b1")
        log("backup status: %s" % json.dumps(st))
        assert st.get("volumeSnapshotsAttempted") == 2 and st.get("volumeSnapshotsCompleted") == 2, st
        assert not st.get("csiVolumeSnapshotsAttempted"), st

        # The bucket records both snapshots, and they exist in "Azure" with Velero's tags.
        recs = {r["spec"]["persistentVolumeName"]: r for r in bucket_json(root, "b1", "-volumesnapshots.json.gz")}
        assert sorted(recs) == ["pv-csi", "pv-intree"], recs
        snaps = {s["id"]: s for s in arm.snapshots("b1")}
        assert len(snaps) == 2, snaps
        for pv, disk, sku, zone in (("pv-intree", "pvc-disk-intree", "Premium_LRS", "westeurope-1"),
                                    ("pv-csi", "pvc-disk-csi", "StandardSSD_LRS", "westeurope-2")):
            r = recs[pv]
            assert r["spec"]["location"] == "default" and r["spec"]["providerVolumeID"] == disk, r
            assert r["spec"]["volumeType"] == sku and r["spec"]["volumeAZ"] == zone, r
            assert r["status"]["phase"] == "Completed", r
            sid = r["status"]["providerSnapshotID"]
            assert sid.startswith(snapshot_id(disk + "-")), sid
            assert sid in snaps, (sid, list(snaps))
            check_snapshot_of(arm, snaps[sid], "b1", pv, disk)
        infos = {i["pvName"]: i for i in bucket_json(root, "b1", "-volumeinfo.json.gz")}
        assert all(i["backupMethod"] == "NativeSnapshot" and
                   i["nativeSnapshotInfo"]["snapshotHandle"] == recs[pv]["status"]["providerSnapshotID"]
                   for pv, i in infos.items()), infos
        old_disks = set(arm.disks())

        # The disaster: the namespace and its volumes go.
        delete_app(k, ["pv-intree", "pv-csi"])
        k.apply(restore_obj("r1", "b1"))
        wait_phase(k, "restore", "r1", ["Completed"], timeout=180, server=server)
        wait_for("restored claims Bound", lambda: claim_bound(k, "data-intree") and claim_bound(k, "data-csi"), 60)
        disks = arm.disks()
        new = set(disks) - old_disks
        assert len(new) == 2, (new, list(disks))
        by_source = {disks[d]["properties"]["creationData"]["sourceResourceId"]: disks[d] for d in new}
        for pv, disk, sku in (("pv-intree", "pvc-disk-intree", "Premium_LRS"),
                              ("pv-csi", "pvc-disk-csi", "StandardSSD_LRS")):
            sid = recs[pv]["status"]["providerSnapshotID"]
            d = by_source.get(sid)
            assert d, "no disk was created from snapshot %s: %s" % (sid, list(by_source))
            assert d["properties"]["creationData"]["createOption"] == "Copy", d
            assert d["sku"]["name"] == sku and d["location"] == LOCATION, d
            assert d["name"].startswith("restore-"), d["name"]
            assert d["tags"].get("velero.io-backup") == "b1", d.get("tags")
            restored = cluster_get(k, "pv", pv)
            assert restored, "PV %s was not restored" % pv
            if "azureDisk" in restored["spec"]:
                ad = restored["spec"]["azureDisk"]
                assert ad["diskURI"] == d["id"] and ad["diskName"] == d["name"], ad
                assert ad["diskURI"] != disk_id(disk), ad
                assert d.get("zones") == ["1"], d  # from the PV's zone label westeurope-1
            else:
                handle = restored["spec"]["csi"]["volumeHandle"]
                assert handle == d["id"] and handle != disk_id(disk), restored["spec"]["csi"]
                assert d.get("zones") == ["2"], d
            assert restored["spec"]["claimRef"]["name"] == ("data-intree" if pv == "pv-intree" else "data-csi")
        log("restore r1: PVs on new disks %s" % sorted(d["name"] for d in by_source.values()))

        # Deleting the backup deletes its ARM snapshots (and not the restored disks).
        k.apply({"apiVersion": "velero.io/v1", "kind": "DeleteBackupRequest",
                 "metadata": {"name": "del-b1", "namespace": NS}, "spec": {"backupName": "b1"}})
        wait_for("backup b1 deleted", lambda: k.get("backup", "b1") is None, 120)
        wait_for("the ARM snapshots of b1 deleted", lambda: not arm.snapshots("b1"), 60)
        assert not any(s in arm.state()["snapshots"] for s in snaps)
        assert new <= set(arm.disks()), "deleting the backup deleted a restored disk"
        assert not os.path.exists(os.path.join(root, "bucket1", "backups", "b1"))
        m = server.metrics()
        assert metric(m, "lifeboat_volume_snapshots_deleted_total", kind="native") == 2, \
            {k_: v for k_, v in m.items() if "snapshot" in k_[0]}
        assert_no_secret(server)
    finally:
        if server:
            server.stop()
        k.stop()
        arm.stop()


def azure_snapshot_expiry(work):
    arm = Arm(work, "--disk", disk_id("pvc-disk-1") + ":" + LOCATION)
    k = Kubesim(work, "k1")
    server = None
    try:
        deploy_app(k, [(intree_pv("pv-1", "data", "pvc-disk-1"), "data")])
        root = configure(k, work)
        server = start_server(work, k, arm)
        # A TTL long enough that a poll slowed by a loaded machine still sees it Completed
        # before gc collects it (3 s raced in CI).
        k.apply(backup_obj("short", [APP], ttl="20s"))
        wait_phase(k, "backup", "short", ["Completed"], timeout=180, server=server)
        snaps = arm.snapshots("short")
        assert len(snaps) == 1, snaps
        recs = bucket_json(root, "short", "-volumesnapshots.json.gz")
        assert [r["status"]["providerSnapshotID"] for r in recs] == [snaps[0]["id"]], recs
        wait_for("the expired backup to be collected", lambda: k.get("backup", "short") is None, 120)
        wait_for("its ARM snapshot deleted", lambda: not arm.snapshots("short"), 60)
        assert not os.path.exists(os.path.join(root, "bucket1", "backups", "short"))
        assert "pvc-disk-1" in {d["name"] for d in arm.disks().values()}, "the source disk was deleted"
        assert_no_secret(server)
    finally:
        if server:
            server.stop()
        k.stop()
        arm.stop()


def azure_orphan_report(work):
    arm = Arm(work, "--disk", disk_id("pvc-disk-1") + ":" + LOCATION)
    k = Kubesim(work, "k1")
    server = None
    try:
        deploy_app(k, [(intree_pv("pv-1", "data", "pvc-disk-1"), "data")])
        configure(k, work)
        server = start_server(work, k, arm)
        k.apply(backup_obj("keep", [APP]))
        wait_phase(k, "backup", "keep", ["Completed"], timeout=180, server=server)
        assert len(arm.snapshots("keep")) == 1
        wait_for("the orphan check to run with no orphans",
                 lambda: metric(server.metrics(), "lifeboat_orphaned_volume_snapshots",
                                kind="native", location="default") == 0, 30)

        # Two snapshots appear outside the server: one claims a backup that never existed, one
        # the existing backup `keep` (without being in its files).
        ghost = snapshot_id("pvc-disk-1-ghost-0001")
        stray_keep = snapshot_id("pvc-disk-1-keep-extra")
        arm.call("POST", "/_test/snapshots", {"id": ghost, "location": LOCATION, "source": disk_id("pvc-disk-1"),
                                              "tags": {"velero.io-backup": "ghost", "velero.io-pv": "pv-1"}})
        arm.call("POST", "/_test/snapshots", {"id": stray_keep, "location": LOCATION,
                                              "source": disk_id("pvc-disk-1"),
                                              "tags": {"velero.io-backup": "keep", "velero.io-pv": "pv-1"}})
        wait_for("lifeboat_orphaned_volume_snapshots{kind=native,location=default} == 1",
                 lambda: metric(server.metrics(), "lifeboat_orphaned_volume_snapshots",
                                kind="native", location="default") == 1, 30)
        wait_for("the orphan named in the log",
                 lambda: "orphaned volume snapshot: snapshot %s in volume snapshot location default "
                         "claims backup ghost" % ghost in server_log(server), 15)
        lines = [l for l in server_log(server).splitlines() if "orphaned volume snapshot" in l]
        assert lines and not any(stray_keep in l for l in lines), lines
        assert not any("claims backup keep" in l for l in lines), lines
        # Reported, never deleted.
        assert ghost in {s["id"] for s in arm.snapshots()}
        # Later checks count it once, not again and again.
        time.sleep(2.5)
        assert metric(server.metrics(), "lifeboat_orphaned_volume_snapshots",
                      kind="native", location="default") == 1
        assert_no_secret(server)
    finally:
        if server:
            server.stop()
        k.stop()
        arm.stop()


def azure_throttled(work):
    # 429 + Retry-After: 1 s on the first disk GETs, snapshot PUTs and operation polls.
    arm = Arm(work, "--disk", disk_id("pvc-disk-1") + ":" + LOCATION,
              "--fault", "GET,/disks/pvc-disk-1,429,1,2",
              "--fault", "PUT,/snapshots/,429,1,2",
              "--fault", "GET,/DiskOperations/,429,1,1")
    k = Kubesim(work, "k1")
    server = None
    try:
        deploy_app(k, [(intree_pv("pv-1", "data", "pvc-disk-1"), "data")])
        root = configure(k, work)
        server = start_server(work, k, arm)
        k.apply(backup_obj("busy", [APP]))
        wait_phase(k, "backup", "busy", ["Completed"], timeout=180, server=server)
        st = arm.state()
        assert st["faultsAnswered"] == 5, "the injected 429s were not all answered: %s" % st["faultsAnswered"]
        assert len(arm.snapshots("busy")) == 1
        bs = status_of(k, "backup", "busy")
        assert bs.get("volumeSnapshotsCompleted") == 1 and not bs.get("errors"), bs

        # The next snapshot's long-running operation fails.
        message = "Operation results in exceeding quota limits of Snapshots. Maximum allowed: 1, Current in use: 1"
        arm.call("POST", "/_test/fail-next-operation", {"code": "OperationNotAllowed", "message": message})
        k.apply(backup_obj("over-quota", [APP]))
        wait_phase(k, "backup", "over-quota", ["PartiallyFailed"], timeout=180, server=server)
        bs = status_of(k, "backup", "over-quota")
        log("backup status: %s" % json.dumps(bs))
        assert bs.get("volumeSnapshotsAttempted") == 1 and not bs.get("volumeSnapshotsCompleted"), bs
        assert bs.get("errors", 0) >= 1, bs
        results = results_text(root, "over-quota")
        assert message in results and "OperationNotAllowed" in results, results[:2000]
        recs = bucket_json(root, "over-quota", "-volumesnapshots.json.gz")
        assert len(recs) == 1 and recs[0]["status"]["phase"] == "Failed", recs
        assert "providerSnapshotID" not in recs[0]["status"], recs
        assert not arm.snapshots("over-quota"), "a failed operation left a snapshot behind"
        assert_no_secret(server)
    finally:
        if server:
            server.stop()
        k.stop()
        arm.stop()


def azure_expiry_retried(work):
    """An expired backup whose snapshot deletion failed once (a 403, as with a resource lock or a
    missing role assignment that is then fixed) must still be collected later, as Velero's gc
    retries: it deletes the Processed request and creates a new one every gc period."""
    arm = Arm(work, "--disk", disk_id("pvc-disk-1") + ":" + LOCATION,
              "--fault", "DELETE,/snapshots/,403,-1,1")
    k = Kubesim(work, "k1")
    server = None
    try:
        deploy_app(k, [(intree_pv("pv-1", "data", "pvc-disk-1"), "data")])
        configure(k, work)
        server = start_server(work, k, arm)
        # A TTL long enough that a poll slowed by a loaded machine still sees it Completed
        # before gc collects it (3 s raced in CI).
        k.apply(backup_obj("short", [APP], ttl="20s"))
        wait_phase(k, "backup", "short", ["Completed"], timeout=180, server=server)
        wait_for("the first deletion to fail", lambda: arm.state()["faultsAnswered"] == 1, 60)
        wait_for("the expired backup to be collected after all",
                 lambda: k.get("backup", "short") is None, 60)
        wait_for("its ARM snapshot deleted", lambda: not arm.snapshots("short"), 30)
    finally:
        if server:
            server.stop()
        k.stop()
        arm.stop()


ALL = {f.__name__: f for f in (azure_snapshot_round_trip, azure_snapshot_expiry, azure_orphan_report,
                               azure_throttled, azure_expiry_retried)}


def main():
    if not ARM_BINARY or not os.access(ARM_BINARY, os.X_OK):
        print("usage: %s KUBESIM LIFEBOAT PRINT_CRDS ARM_CONTRACT_SERVER CASE..." % sys.argv[0])
        return 2
    return sat.run_cases(ALL, CASES, "lifeboat-azure")


if __name__ == "__main__":
    sys.exit(main())
