#!/usr/bin/python3
"""Writes test/testdata/velero/velero-fixture-backup/: the bucket directory of a Velero backup.

The output is laid out exactly as Velero 1.15 writes a backup of namespace `shop` (made with
`velero backup create velero-fixture-backup --include-namespaces shop`) into a backup storage
location, and is byte-for-byte reproducible (fixed times, fixed gzip mtime, fixed UIDs).
README.md in this directory says which Velero rule each detail follows. Standard library only.

    /usr/bin/python3 test/testdata/velero/make_fixture.py [OUTPUT_DIR]

OUTPUT_DIR defaults to the directory of this script; the backup goes to
OUTPUT_DIR/velero-fixture-backup/backups/velero-fixture-backup/.
"""

import base64
import calendar
import gzip
import io
import json
import os
import sys
import time

BACKUP = "velero-fixture-backup"
NS = "shop"
NODE = "shop-worker-1"
K8S_GIT_VERSION = "v1.29.4"
BACKUP_START = "2024-11-05T10:00:00Z"
BACKUP_DONE = "2024-11-05T10:00:04Z"
EXPIRATION = "2024-12-05T10:00:00Z"  # start + the default TTL of 720h
# Every tar entry carries the time it was written (Go's time.Now(), rounded to the second).
ENTRY_MTIME = calendar.timegm(time.strptime("2024-11-05T10:00:02Z", "%Y-%m-%dT%H:%M:%SZ"))

CA_PEM = """-----BEGIN CERTIFICATE-----
MIIBfjCCASWgAwIBAgIUPFppguIuRqYbS0z5fh3P1Aq2psQwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjExMjUxMzM5MzhaFw0zNjExMjIx
MzM5MzhaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARPutMOjiJlIbXXkf4FTW3F+LeEp8KazdOvqjJEHHR3CXpfWBc3o7TX
ebrxRo7DRCDsbpXEK3ThkKRRhNBCLQgMo1MwUTAdBgNVHQ4EFgQU755mK0EjJ/Wp
yH9y+r8YQj34ynAwHwYDVR0jBBgwFoAU755mK0EjJ/WpyH9y+r8YQj34ynAwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBUBD+hpbbEqZ5y325WOXiC
2Jp4IKZz5kq9QbjSA5AJ3gIgNXOLnG8pUo4N6LKs6/4eDfIjTkA3PrrIfx6CTaS8
8a0=
-----END CERTIFICATE-----
"""


# ----------------------------------------------------------------------------------------------
# Deterministic identities.

def uid(n):
    return "5b0c1f2e-%04x-4c6d-9e8f-%012x" % (n, 0xA11CE0000000 + n)


UIDS = {}


def uid_of(key):
    if key not in UIDS:
        UIDS[key] = uid(len(UIDS) + 1)
    return UIDS[key]


def b64(s):
    return base64.b64encode(s.encode()).decode()


def mf(manager, op, at, fields, api="v1", sub=None):
    """One managedFields entry, keys in the order the API server returns them."""
    e = {"manager": manager, "operation": op, "apiVersion": api, "time": at,
         "fieldsType": "FieldsV1", "fieldsV1": fields}
    if sub:
        e["subresource"] = sub
    return e


def F(*keys, **nested):
    """fieldsV1 helper: F("f:a", "f:b", **{"f:c": {...}}) -> {"f:a":{}, "f:b":{}, "f:c":{...}}."""
    d = {k: {} for k in keys}
    d.update(nested)
    return d


def meta(name, rv, created, ns=NS, kind=None, **extra):
    m = {"name": name}
    if ns:
        m["namespace"] = ns
    m["uid"] = uid_of((kind, ns, name))
    m["resourceVersion"] = str(rv)
    m["creationTimestamp"] = created
    m.update({k: v for k, v in extra.items() if v is not None})
    return m


def owner(api, kind, name, ns=NS):
    return {"apiVersion": api, "kind": kind, "name": name, "uid": uid_of((kind, ns, name)),
            "controller": True, "blockOwnerDeletion": True}


T_NS = "2024-11-04T09:12:03Z"
T_APP = "2024-11-04T09:14:41Z"
T_POD = "2024-11-04T09:14:42Z"
T_RUN = "2024-11-04T09:14:47Z"
T_JOB = "2024-11-05T09:30:00Z"
T_JOB_RUN = "2024-11-05T09:30:04Z"
T_JOB_DONE = "2024-11-05T09:31:12Z"
T_REPORT = "2024-11-05T09:58:00Z"
T_REPORT_RUN = "2024-11-05T09:58:03Z"

RS = "web-6d8f7b9c54"
WEB_PODS = [RS + "-4xkqp", RS + "-n8w2z"]
TOKEN_SECRET = "shop-sa-token-7xk2p"
PVC_UID_KEY = ("PersistentVolumeClaim", NS, "data")
PV = "pvc-" + uid_of(PVC_UID_KEY)


# ----------------------------------------------------------------------------------------------
# The application, as a Kubernetes 1.29 API server returns it (lists fill in apiVersion/kind).

def namespace():
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": meta(NS, 1021, T_NS, ns=None, kind="Namespace",
                             labels={"kubernetes.io/metadata.name": NS, "team": "shop"},
                             managedFields=[mf("kubectl-create", "Update", T_NS, F(**{"f:metadata": F(**{
                                 "f:labels": F(".", "f:kubernetes.io/metadata.name", "f:team")})}))]),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def api_access_volume(suffix):
    return {"name": "kube-api-access-" + suffix, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}}]}}


TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300}]


def container(name, image, mounts, ports=None, command=None, env=None):
    c = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent", "resources": {},
         "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
         "volumeMounts": mounts}
    if ports:
        c["ports"] = ports
    if command:
        c["command"] = command
    if env:
        c["env"] = env
    return c


def pod_status(phase, ip, start, ready, cname, image, state):
    cond = lambda t, s, at: {"lastProbeTime": None, "lastTransitionTime": at, "status": s, "type": t}
    ok = "True" if ready else "False"
    conds = [cond("PodReadyToStartContainers", ok, state["at"]), cond("Initialized", "True", start),
             cond("Ready", ok, state["at"]), cond("ContainersReady", ok, state["at"]),
             cond("PodScheduled", "True", start)]
    if not ready:
        conds[2]["reason"] = conds[3]["reason"] = "PodCompleted"
    cs = {"containerID": "containerd://" + uid(9000 + len(ip)).replace("-", "") + ip.replace(".", ""),
          "image": "docker.io/library/" + image, "imageID": "docker.io/library/" + image.split(":")[0]
          + "@sha256:" + "%064x" % (len(image) * 7919), "lastState": {}, "name": cname, "ready": ready,
          "restartCount": 0, "started": ready, "state": state["state"]}
    return {"conditions": conds, "containerStatuses": [cs], "hostIP": "172.18.0.3",
            "hostIPs": [{"ip": "172.18.0.3"}], "phase": phase, "podIP": ip, "podIPs": [{"ip": ip}],
            "qosClass": "BestEffort", "startTime": start}


def pod_managed(at_create, at_status, spec_fields):
    return [mf("kube-controller-manager", "Update", at_create, F(**{
        "f:metadata": F(**{"f:generateName": {}, "f:labels": {".": {}}, "f:ownerReferences": F(".")}),
        "f:spec": spec_fields})),
        mf("kubelet", "Update", at_status, F(**{"f:status": F(
            "f:containerStatuses", "f:hostIP", "f:hostIPs", "f:phase", "f:podIP", "f:podIPs", "f:startTime",
            **{"f:conditions": F(".")})}), sub="status")]


def web_pod(i, name, ip, rv):
    labels = {"app": "web", "pod-template-hash": RS.split("-")[1]}
    vol = ["abc12", "q9d7m"][i]
    spec = {"containers": [container("web", "nginx:1.27", [
        {"mountPath": "/var/lib/shop", "name": "data"},
        {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-" + vol,
         "readOnly": True}], ports=[{"containerPort": 8080, "name": "http", "protocol": "TCP"}])],
        "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "nodeName": NODE,
        "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Always",
        "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": "default",
        "serviceAccountName": "default", "terminationGracePeriodSeconds": 30, "tolerations": TOLERATIONS,
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}, api_access_volume(vol)]}
    running = {"at": T_RUN, "state": {"running": {"startedAt": T_RUN}}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(name, rv, T_POD, kind="Pod", generateName=RS + "-", labels=labels,
                             ownerReferences=[owner("apps/v1", "ReplicaSet", RS)],
                             managedFields=pod_managed(T_POD, T_RUN, F(
                                 "f:dnsPolicy", "f:enableServiceLinks", "f:restartPolicy", "f:volumes",
                                 **{"f:containers": F(".")}))),
            "spec": spec, "status": pod_status("Running", ip, T_POD, True, "web", "nginx:1.27", running)}


def job_labels(job):
    u = uid_of(("Job", NS, job))
    return {"batch.kubernetes.io/controller-uid": u, "batch.kubernetes.io/job-name": job,
            "controller-uid": u, "job-name": job}


def job_pod_spec(job, sa, extra_vol=None):
    vol = {"db-migrate": "h5rnc", "report": "w2x8t"}[job]
    mounts = [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-" + vol,
               "readOnly": True}]
    volumes = [api_access_volume(vol)]
    if extra_vol:
        mounts.insert(0, {"mountPath": "/var/run/secrets/shop-sa", "name": extra_vol, "readOnly": True})
        volumes.insert(0, {"name": extra_vol, "secret": {"defaultMode": 420, "secretName": extra_vol}})
    cmd = {"db-migrate": ["/bin/sh", "-c", "shop-migrate --to latest"],
           "report": ["/bin/sh", "-c", "shop-report --daily"]}[job]
    return {"containers": [container(job, "busybox:1.36", mounts, command=cmd)],
            "dnsPolicy": "ClusterFirst", "enableServiceLinks": True, "nodeName": NODE,
            "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Never",
            "schedulerName": "default-scheduler", "securityContext": {}, "serviceAccount": sa,
            "serviceAccountName": sa, "terminationGracePeriodSeconds": 30, "tolerations": TOLERATIONS,
            "volumes": volumes}


def job_pod(job, name, ip, rv, done):
    sa = "shop-sa" if job == "report" else "default"
    labels = job_labels(job)
    spec = job_pod_spec(job, sa, TOKEN_SECRET if job == "report" else None)
    start = T_JOB if done else T_REPORT
    if done:
        state = {"at": T_JOB_DONE, "state": {"terminated": {
            "containerID": "containerd://" + "%064x" % 0xD0E, "exitCode": 0, "finishedAt": T_JOB_DONE,
            "reason": "Completed", "startedAt": T_JOB_RUN}}}
    else:
        state = {"at": T_REPORT_RUN, "state": {"running": {"startedAt": T_REPORT_RUN}}}
    status = pod_status("Succeeded" if done else "Running", ip, start, not done, job, "busybox:1.36", state)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(name, rv, start, kind="Pod", generateName=job + "-", labels=labels,
                             finalizers=None if done else ["batch.kubernetes.io/job-tracking"],
                             ownerReferences=[owner("batch/v1", "Job", job)],
                             managedFields=pod_managed(start, state["at"], F(
                                 "f:dnsPolicy", "f:restartPolicy", "f:volumes", **{"f:containers": F(".")}))),
            "spec": spec, "status": status}


def pvc():
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": meta("data", 1107, T_APP, kind="PersistentVolumeClaim",
                             annotations={"pv.kubernetes.io/bind-completed": "yes",
                                          "pv.kubernetes.io/bound-by-controller": "yes",
                                          "volume.beta.kubernetes.io/storage-provisioner": "kubesim.io/hostpath",
                                          "volume.kubernetes.io/storage-provisioner": "kubesim.io/hostpath"},
                             labels={"app": "web"}, finalizers=["kubernetes.io/pvc-protection"],
                             managedFields=[
                                 mf("kubectl-create", "Update", T_APP, F(**{
                                     "f:metadata": F(**{"f:labels": F(".", "f:app")}),
                                     "f:spec": F("f:accessModes", "f:storageClassName", "f:volumeMode",
                                                 **{"f:resources": F(**{"f:requests": F(".", "f:storage")})})})),
                                 mf("kube-controller-manager", "Update", T_APP, F(**{
                                     "f:metadata": F(**{"f:annotations": F(
                                         ".", "f:pv.kubernetes.io/bind-completed",
                                         "f:pv.kubernetes.io/bound-by-controller",
                                         "f:volume.beta.kubernetes.io/storage-provisioner",
                                         "f:volume.kubernetes.io/storage-provisioner")}),
                                     "f:spec": F("f:volumeName")})),
                                 mf("kube-controller-manager", "Update", T_APP, F(**{"f:status": F(
                                     "f:accessModes", "f:capacity", "f:phase")}), sub="status")]),
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "storageClassName": "standard", "volumeMode": "Filesystem", "volumeName": PV},
            "status": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "phase": "Bound"}}


def pv():
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": meta(PV, 1131, T_APP, ns=None, kind="PersistentVolume",
                             annotations={"pv.kubernetes.io/provisioned-by": "kubesim.io/hostpath",
                                          "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                                          "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                             finalizers=["kubernetes.io/pv-protection"],
                             managedFields=[
                                 mf("kubesim-hostpath-provisioner", "Update", T_APP, F(**{
                                     "f:metadata": F(**{"f:annotations": F(
                                         ".", "f:pv.kubernetes.io/provisioned-by",
                                         "f:volume.kubernetes.io/provisioner-deletion-secret-name",
                                         "f:volume.kubernetes.io/provisioner-deletion-secret-namespace")}),
                                     "f:spec": F("f:accessModes", "f:capacity", "f:claimRef", "f:csi",
                                                 "f:storageClassName", "f:volumeMode")})),
                                 mf("kube-controller-manager", "Update", T_APP, F(**{"f:status": F("f:phase")}),
                                    sub="status"),
                                 mf("kubectl-patch", "Update", T_RUN, F(**{"f:spec": F(
                                     "f:persistentVolumeReclaimPolicy")}))]),
            "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
                     "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "data",
                                  "namespace": NS, "resourceVersion": "1098", "uid": uid_of(PVC_UID_KEY)},
                     "csi": {"driver": "kubesim.io/hostpath", "fsType": "ext4",
                             "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": "kubesim-hostpath"},
                             "volumeHandle": PV},
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
                     "volumeMode": "Filesystem"},
            "status": {"lastPhaseTransitionTime": T_APP, "phase": "Bound"}}


def configmaps():
    root = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"ca.crt": CA_PEM},
            "metadata": meta("kube-root-ca.crt", 1024, T_NS, kind="ConfigMap",
                             annotations={"kubernetes.io/description": "Contains a CA bundle that can be used to "
                                          "verify the kube-apiserver when using internal endpoints such as the "
                                          "internal service IP or kubernetes.default.svc. No other usage is "
                                          "guaranteed across distributions of Kubernetes clusters."},
                             managedFields=[mf("kube-controller-manager", "Update", T_NS, F(**{
                                 "f:data": F(".", "f:ca.crt"),
                                 "f:metadata": F(**{"f:annotations": F(".", "f:kubernetes.io/description")})}))])}
    cfg = {"apiVersion": "v1", "kind": "ConfigMap",
           "data": {"LOG_LEVEL": "info", "shop.yaml": "currency: EUR\nfeatures:\n  checkout: true\n  wishlist: false\n"},
           "metadata": meta("shop-config", 1088, T_APP, kind="ConfigMap", labels={"app": "web"},
                            managedFields=[mf("kubectl-create", "Update", T_APP, F(**{
                                "f:data": F(".", "f:LOG_LEVEL", "f:shop.yaml"),
                                "f:metadata": F(**{"f:labels": F(".", "f:app")})}))])}
    return [root, cfg]


def endpoints(name, ips, rv, headless):
    addr = [{"ip": ip, "nodeName": NODE, "targetRef": {"kind": "Pod", "name": p, "namespace": NS,
                                                        "uid": uid_of(("Pod", NS, p))}}
            for ip, p in zip(ips, WEB_PODS)]
    port = {"name": "http", "port": 8080, "protocol": "TCP"}
    labels = {"app": "web"}
    if headless:
        labels["service.kubernetes.io/headless"] = ""
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": meta(name, rv, T_APP, kind="Endpoints", labels=labels,
                             annotations={"endpoints.kubernetes.io/last-change-trigger-time": T_RUN},
                             managedFields=[mf("kube-controller-manager", "Update", T_RUN, F(**{
                                 "f:metadata": F(**{"f:annotations": F(".", "f:endpoints.kubernetes.io/last-change-trigger-time"),
                                                     "f:labels": F(".", "f:app")}), "f:subsets": {}}))]),
            "subsets": [{"addresses": addr, "ports": [port]}]}


def endpointslice(name, svc, ips, rv, headless):
    labels = {"app": "web", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
              "kubernetes.io/service-name": svc}
    if headless:
        labels["service.kubernetes.io/headless"] = ""
    eps = [{"addresses": [ip], "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": NODE, "targetRef": {"kind": "Pod", "name": p, "namespace": NS, "uid": uid_of(("Pod", NS, p))}}
           for ip, p in zip(ips, WEB_PODS)]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "endpoints": eps, "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            "metadata": meta(name, rv, T_APP, kind="EndpointSlice", generateName=svc + "-", labels=labels,
                             annotations={"endpoints.kubernetes.io/last-change-trigger-time": T_RUN},
                             ownerReferences=[{"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True,
                                               "kind": "Service", "name": svc, "uid": uid_of(("Service", NS, svc))}],
                             managedFields=[mf("kube-controller-manager", "Update", T_RUN, F(
                                 "f:addressType", "f:endpoints", "f:ports",
                                 **{"f:metadata": F("f:annotations", "f:generateName", "f:labels", "f:ownerReferences")}),
                                 api="discovery.k8s.io/v1")])}


def secrets():
    creds = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "data": {"DB_PASSWORD": b64("fixture-not-a-real-password"), "DB_USER": b64("shop")},
             "metadata": meta("shop-db-credentials", 1090, T_APP, kind="Secret", labels={"app": "web"},
                              managedFields=[mf("kubectl-create", "Update", T_APP, F("f:type", **{
                                  "f:data": F(".", "f:DB_PASSWORD", "f:DB_USER"),
                                  "f:metadata": F(**{"f:labels": F(".", "f:app")})}))])}
    token = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
             "data": {"ca.crt": b64(CA_PEM), "namespace": b64(NS),
                      "token": b64("eyJhbGciOiJub25lIn0.eyJmaXh0dXJlIjoidmVsZXJvLWZpeHR1cmUifQ.not-a-real-token")},
             "metadata": meta(TOKEN_SECRET, 1095, T_APP, kind="Secret",
                              annotations={"kubernetes.io/service-account.name": "shop-sa",
                                           "kubernetes.io/service-account.uid": uid_of(("ServiceAccount", NS, "shop-sa"))},
                              managedFields=[
                                  mf("kubectl-create", "Update", T_APP, F("f:type", **{"f:metadata": F(**{
                                      "f:annotations": F(".", "f:kubernetes.io/service-account.name")})})),
                                  mf("kube-controller-manager", "Update", T_APP, F(**{
                                      "f:data": F(".", "f:ca.crt", "f:namespace", "f:token"),
                                      "f:metadata": F(**{"f:annotations": F("f:kubernetes.io/service-account.uid")})}))])}
    return [creds, token]


def service_accounts():
    dflt = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("default", 1023, T_NS, kind="ServiceAccount")}
    sa = {"apiVersion": "v1", "kind": "ServiceAccount",
          "metadata": meta("shop-sa", 1086, T_APP, kind="ServiceAccount", labels={"app": "web"},
                           managedFields=[mf("kubectl-create", "Update", T_APP, F(**{
                               "f:metadata": F(**{"f:labels": F(".", "f:app")})}))])}
    return [dflt, sa]


def services():
    web = {"apiVersion": "v1", "kind": "Service",
           "metadata": meta("web", 1101, T_APP, kind="Service", labels={"app": "web"},
                            managedFields=[mf("kubectl-expose", "Update", T_APP, F(**{
                                "f:metadata": F(**{"f:labels": F(".", "f:app")}),
                                # kubectl expose owns the port but not its nodePort (server-assigned).
                                "f:spec": F("f:externalTrafficPolicy", "f:internalTrafficPolicy", "f:selector",
                                            "f:sessionAffinity", "f:type", **{"f:ports": F(".", **{
                                                'k:{"port":80,"protocol":"TCP"}': F(
                                                    ".", "f:name", "f:port", "f:protocol", "f:targetPort")})})}))]),
           "spec": {"clusterIP": "10.96.142.17", "clusterIPs": ["10.96.142.17"], "externalTrafficPolicy": "Cluster",
                    "internalTrafficPolicy": "Cluster", "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                    "ports": [{"name": "http", "nodePort": 30080, "port": 80, "protocol": "TCP", "targetPort": 8080}],
                    "selector": {"app": "web"}, "sessionAffinity": "None", "type": "NodePort"},
           "status": {"loadBalancer": {}}}
    headless = {"apiVersion": "v1", "kind": "Service",
                "metadata": meta("web-headless", 1103, T_APP, kind="Service", labels={"app": "web"},
                                 managedFields=[mf("kubectl-create", "Update", T_APP, F(**{
                                     "f:metadata": F(**{"f:labels": F(".", "f:app")}),
                                     "f:spec": F("f:clusterIP", "f:internalTrafficPolicy", "f:ports", "f:selector",
                                                 "f:sessionAffinity", "f:type")}))]),
                "spec": {"clusterIP": "None", "clusterIPs": ["None"], "internalTrafficPolicy": "Cluster",
                         "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                         "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080}],
                         "selector": {"app": "web"}, "sessionAffinity": "None", "type": "ClusterIP"},
                "status": {"loadBalancer": {}}}
    return [web, headless]


def pod_template(labels, spec):
    return {"metadata": {"creationTimestamp": None, "labels": labels}, "spec": spec}


def web_template_spec():
    return {"containers": [{"image": "nginx:1.27", "imagePullPolicy": "IfNotPresent", "name": "web",
                            "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}], "resources": {},
                            "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                            "volumeMounts": [{"mountPath": "/var/lib/shop", "name": "data"}]}],
            "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler",
            "securityContext": {}, "terminationGracePeriodSeconds": 30,
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]}


def deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta("web", 1162, T_APP, kind="Deployment", generation=1, labels={"app": "web"},
                             annotations={"deployment.kubernetes.io/revision": "1"},
                             managedFields=[
                                 mf("kubectl-create", "Update", T_APP, F(**{
                                     "f:metadata": F(**{"f:labels": F(".", "f:app")}),
                                     "f:spec": F("f:progressDeadlineSeconds", "f:replicas", "f:revisionHistoryLimit",
                                                 "f:selector", "f:strategy", "f:template")}), api="apps/v1"),
                                 mf("kube-controller-manager", "Update", T_RUN, F(**{
                                     "f:metadata": F(**{"f:annotations": F(".", "f:deployment.kubernetes.io/revision")}),
                                     "f:status": F("f:availableReplicas", "f:conditions", "f:observedGeneration",
                                                   "f:readyReplicas", "f:replicas", "f:updatedReplicas")}),
                                    api="apps/v1", sub="status")]),
            "spec": {"progressDeadlineSeconds": 600, "replicas": 2, "revisionHistoryLimit": 10,
                     "selector": {"matchLabels": {"app": "web"}},
                     "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                     "template": pod_template({"app": "web"}, web_template_spec())},
            "status": {"availableReplicas": 2, "conditions": [
                {"lastTransitionTime": T_RUN, "lastUpdateTime": T_RUN, "message": "Deployment has minimum availability.",
                 "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
                {"lastTransitionTime": T_APP, "lastUpdateTime": T_RUN,
                 "message": 'ReplicaSet "%s" has successfully progressed.' % RS, "reason": "NewReplicaSetAvailable",
                 "status": "True", "type": "Progressing"}],
                "observedGeneration": 1, "readyReplicas": 2, "replicas": 2, "updatedReplicas": 2}}


def replicaset():
    labels = {"app": "web", "pod-template-hash": RS.split("-")[1]}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta(RS, 1160, T_APP, kind="ReplicaSet", generation=1, labels=labels,
                             annotations={"deployment.kubernetes.io/desired-replicas": "2",
                                          "deployment.kubernetes.io/max-replicas": "3",
                                          "deployment.kubernetes.io/revision": "1"},
                             ownerReferences=[owner("apps/v1", "Deployment", "web")],
                             managedFields=[
                                 mf("kube-controller-manager", "Update", T_APP, F(**{
                                     "f:metadata": F("f:annotations", "f:labels", "f:ownerReferences"),
                                     "f:spec": F("f:replicas", "f:selector", "f:template")}), api="apps/v1"),
                                 mf("kube-controller-manager", "Update", T_RUN, F(**{"f:status": F(
                                     "f:availableReplicas", "f:fullyLabeledReplicas", "f:observedGeneration",
                                     "f:readyReplicas", "f:replicas")}), api="apps/v1", sub="status")]),
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": pod_template(labels, web_template_spec())},
            "status": {"availableReplicas": 2, "fullyLabeledReplicas": 2, "observedGeneration": 1,
                       "readyReplicas": 2, "replicas": 2}}


def job(name, done):
    labels = job_labels(name)
    spec_pod = job_pod_spec(name, "shop-sa" if name == "report" else "default",
                            TOKEN_SECRET if name == "report" else None)
    for v in list(spec_pod["volumes"]):
        if v["name"].startswith("kube-api-access-"):
            spec_pod["volumes"].remove(v)
    spec_pod["containers"][0]["volumeMounts"] = [m for m in spec_pod["containers"][0]["volumeMounts"]
                                                 if not m["name"].startswith("kube-api-access-")]
    if not spec_pod["containers"][0]["volumeMounts"]:
        del spec_pod["containers"][0]["volumeMounts"]
    for k in ("nodeName", "preemptionPolicy", "priority", "enableServiceLinks", "tolerations"):
        spec_pod.pop(k)
    spec_pod.pop("serviceAccount")
    created = T_JOB if done else T_REPORT
    status = {"active": 1, "ready": 1, "startTime": created, "terminating": 0,
              "uncountedTerminatedPods": {}}
    if done:
        status = {"completionTime": T_JOB_DONE, "conditions": [
            {"lastProbeTime": T_JOB_DONE, "lastTransitionTime": T_JOB_DONE, "status": "True", "type": "Complete"}],
            "ready": 0, "startTime": created, "succeeded": 1, "terminating": 0, "uncountedTerminatedPods": {}}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": meta(name, 1400 if done else 1502, created, kind="Job", generation=1,
                             labels=labels, annotations={"batch.kubernetes.io/job-tracking": ""},
                             managedFields=[
                                 mf("kubectl-create", "Update", created, F(**{"f:spec": F(
                                     "f:backoffLimit", "f:completionMode", "f:completions", "f:manualSelector",
                                     "f:parallelism", "f:podReplacementPolicy", "f:suspend", "f:template")}),
                                    api="batch/v1"),
                                 mf("kube-controller-manager", "Update", T_JOB_DONE if done else T_REPORT_RUN,
                                    F(**{"f:status": F(*(["f:completionTime", "f:conditions", "f:succeeded"]
                                                         if done else ["f:active"]), "f:ready", "f:startTime",
                                                       "f:terminating", "f:uncountedTerminatedPods")}),
                                    api="batch/v1", sub="status")]),
            "spec": {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1, "manualSelector": False,
                     "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
                     "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": labels["controller-uid"]}},
                     "suspend": False, "template": pod_template(labels, spec_pod)},
            "status": status}


def ingress():
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": meta("web", 1120, T_APP, kind="Ingress", generation=1, labels={"app": "web"},
                             managedFields=[mf("kubectl-create", "Update", T_APP, F(**{
                                 "f:metadata": F(**{"f:labels": F(".", "f:app")}),
                                 "f:spec": F("f:ingressClassName", "f:rules")}), api="networking.k8s.io/v1")]),
            "spec": {"ingressClassName": "nginx", "rules": [{"host": "shop.example.com", "http": {"paths": [
                {"backend": {"service": {"name": "web", "port": {"number": 80}}}, "path": "/",
                 "pathType": "Prefix"}]}}]},
            "status": {"loadBalancer": {}}}


RBAC = "rbac.authorization.k8s.io/v1"
SA_SUBJECT = [{"kind": "ServiceAccount", "name": "shop-sa", "namespace": NS}]


def role():
    return {"apiVersion": RBAC, "kind": "Role",
            "metadata": meta("shop-reader", 1084, T_APP, kind="Role", managedFields=[
                mf("kubectl-create", "Update", T_APP, F("f:rules"), api=RBAC)]),
            "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]}]}


def rolebinding():
    return {"apiVersion": RBAC, "kind": "RoleBinding",
            "metadata": meta("shop-reader-binding", 1085, T_APP, kind="RoleBinding", managedFields=[
                mf("kubectl-create", "Update", T_APP, F("f:roleRef", "f:subjects"), api=RBAC)]),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "shop-reader"},
            "subjects": SA_SUBJECT}


def clusterrole():
    return {"apiVersion": RBAC, "kind": "ClusterRole",
            "metadata": meta("shop-widget-viewer", 1082, T_APP, ns=None, kind="ClusterRole", managedFields=[
                mf("kubectl-create", "Update", T_APP, F("f:rules"), api=RBAC)]),
            "rules": [{"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list", "watch"]}]}


def clusterrolebinding():
    return {"apiVersion": RBAC, "kind": "ClusterRoleBinding",
            "metadata": meta("shop-sa-widget-viewer", 1083, T_APP, ns=None, kind="ClusterRoleBinding", managedFields=[
                mf("kubectl-create", "Update", T_APP, F("f:roleRef", "f:subjects"), api=RBAC)]),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "shop-widget-viewer"},
            "subjects": SA_SUBJECT}


CRD_API = "apiextensions.k8s.io/v1"


def crd():
    schema = {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["color"], "properties": {
            "color": {"type": "string", "enum": ["red", "green", "blue"]},
            "size": {"type": "integer", "minimum": 1, "default": 1}}},
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}
    names = {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"}
    cond = lambda t, r, m: {"lastTransitionTime": T_NS, "message": m, "reason": r, "status": "True", "type": t}
    return {"apiVersion": CRD_API, "kind": "CustomResourceDefinition",
            "metadata": meta("widgets.example.com", 1010, T_NS, ns=None, kind="CustomResourceDefinition",
                             generation=1, managedFields=[
                                 mf("kubectl-create", "Update", T_NS, F(**{"f:spec": F(
                                     "f:conversion", "f:group", "f:names", "f:scope", "f:versions")}), api=CRD_API),
                                 mf("kube-apiserver", "Update", T_NS, F(**{"f:status": F(
                                     "f:acceptedNames", "f:conditions")}), api=CRD_API, sub="status")]),
            "spec": {"conversion": {"strategy": "None"}, "group": "example.com", "names": names,
                     "scope": "Namespaced", "versions": [{"name": "v1", "schema": schema, "served": True,
                                                          "storage": True, "subresources": {"status": {}}}]},
            "status": {"acceptedNames": names, "conditions": [
                cond("NamesAccepted", "NoConflicts", "no conflicts found"),
                cond("Established", "InitialNamesAccepted", "the initial names have been accepted")],
                "storedVersions": ["v1"]}}


def widget():
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": meta("blue-widget", 1112, T_APP, kind="Widget", generation=1, labels={"app": "web"},
                             managedFields=[
                                 mf("kubectl-create", "Update", T_APP, F(**{
                                     "f:metadata": F(**{"f:labels": F(".", "f:app")}),
                                     "f:spec": F(".", "f:color", "f:size")}), api="example.com/v1"),
                                 mf("widget-controller", "Update", T_RUN, F(**{"f:status": F(".", "f:ready")}),
                                    api="example.com/v1", sub="status")]),
            "spec": {"color": "blue", "size": 3}, "status": {"ready": True}}


def event(name, rv, job_name, reason, message, at):
    return {"apiVersion": "v1", "kind": "Event", "count": 1, "firstTimestamp": at, "lastTimestamp": at,
            "involvedObject": {"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "namespace": NS,
                               "resourceVersion": str(rv - 3), "uid": uid_of(("Job", NS, job_name))},
            "message": message, "reason": reason, "reportingComponent": "job-controller", "reportingInstance": "",
            "source": {"component": "job-controller"}, "type": "Normal",
            "metadata": meta(name, rv, at, kind="Event", managedFields=[mf("kube-controller-manager", "Update", at, F(
                "f:count", "f:firstTimestamp", "f:involvedObject", "f:lastTimestamp", "f:message", "f:reason",
                "f:reportingComponent", "f:source", "f:type"))])}


# ----------------------------------------------------------------------------------------------
# Processing order (README "Entry order"): discovery order of groups and resources, the core
# group reordered pods, PVCs, PVs, then alphabetical; items of a resource in name order; related
# items (additional items of BackupItemActions) written before the item that returned them; the
# CRDs of backed-up custom resources last.

def items_in_write_order():
    web = [web_pod(0, WEB_PODS[0], "10.244.1.12", 1178), web_pod(1, WEB_PODS[1], "10.244.1.13", 1181)]
    cms = configmaps()
    creds, token = secrets()
    dflt, sa = service_accounts()
    svc, headless = services()
    gr = [
        # core group: pods first; the first web pod pulls in its PVC, which pulls in its PV.
        ("pods", job_pod("db-migrate", "db-migrate-7fq2m", "10.244.1.20", 1401, True)),
        ("pods", job_pod("report", "report-tz9sd", "10.244.1.21", 1505, False)),
        ("persistentvolumes", pv()), ("persistentvolumeclaims", pvc()), ("pods", web[0]), ("pods", web[1]),
        ("configmaps", cms[0]), ("configmaps", cms[1]),
        ("endpoints", endpoints("web", ["10.244.1.12", "10.244.1.13"], 1183, False)),
        ("endpoints", endpoints("web-headless", ["10.244.1.12", "10.244.1.13"], 1184, True)),
        ("events", event("db-migrate.18050e6a3c9d2f41", 1403, "db-migrate", "Completed", "Job completed",
                         T_JOB_DONE)),
        ("events", event("report.180510d2b7e41a6c", 1504, "report", "SuccessfulCreate",
                         "Created pod: report-tz9sd", T_REPORT)),
        ("namespaces", namespace()),
        ("secrets", creds), ("secrets", token),
        # shop-sa's action returns the ClusterRoleBinding naming it and that binding's ClusterRole.
        ("serviceaccounts", dflt), ("clusterrolebindings.rbac.authorization.k8s.io", clusterrolebinding()),
        ("clusterroles.rbac.authorization.k8s.io", clusterrole()), ("serviceaccounts", sa),
        ("services", svc), ("services", headless),
        ("deployments.apps", deployment()), ("replicasets.apps", replicaset()),
        ("jobs.batch", job("db-migrate", True)), ("jobs.batch", job("report", False)),
        ("ingresses.networking.k8s.io", ingress()),
        ("rolebindings.rbac.authorization.k8s.io", rolebinding()), ("roles.rbac.authorization.k8s.io", role()),
        ("endpointslices.discovery.k8s.io", endpointslice("web-7bq4c", "web", ["10.244.1.12", "10.244.1.13"],
                                                          1185, False)),
        ("endpointslices.discovery.k8s.io", endpointslice("web-headless-x5nwm", "web-headless",
                                                          ["10.244.1.12", "10.244.1.13"], 1186, True)),
        ("widgets.example.com", widget()),
        ("customresourcedefinitions.apiextensions.k8s.io", crd()),
    ]
    return gr


# ----------------------------------------------------------------------------------------------
# Encodings.

def go_escape(s):
    """Go's encoding/json escapes <, >, & and U+2028/U+2029 inside strings (HTML-safe output)."""
    return (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def go_marshal(obj):
    """json.Marshal of a map[string]interface{}: keys sorted at every level, compact, no newline."""
    return go_escape(json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)).encode()


def go_encoder_line(obj):
    """json.NewEncoder(w).Encode(v) of a map (sorted keys) or slice: compact plus a newline."""
    return go_marshal(obj) + b"\n"


def go_struct_line(obj):
    """json.NewEncoder(w).Encode(v) of structs: fields in declaration (insertion) order."""
    return go_escape(json.dumps(obj, separators=(",", ":"), ensure_ascii=False)).encode() + b"\n"


def go_indent(obj):
    """json.MarshalIndent(v, "", "  ") of a struct: fields in the (insertion) order given."""
    return go_escape(json.dumps(obj, indent=2, ensure_ascii=False)).encode()


def octal(value, size):
    # Go's archive/tar formatOctal: zero-padded octal digits and a NUL in the last byte.
    return ("%0*o" % (size - 1, value)).encode() + b"\0"


def field(text, size):
    raw = text.encode()
    if len(raw) > size:
        raise ValueError("tar field too long: %r" % text)
    return raw + b"\0" * (size - len(raw))


def split_ustar(name):
    """USTAR prefix/name split as Go's archive/tar does it, or None when the path cannot be split."""
    if len(name) <= 100:
        return "", name
    cut = min(len(name), 156)
    i = name.rfind("/", 0, cut)
    if i <= 0 or len(name) - i - 1 > 100 or len(name) - i - 1 == 0 or i > 155:
        return None
    return name[:i], name[i + 1:]


def tar_header(path, size, mtime):
    """A USTAR header exactly as Go's tar.Writer writes a Velero item header (TypeReg, mode 0755,
    uid/gid 0, empty uname/gname, zero device numbers). Paths longer than 100 bytes use the USTAR
    prefix field; this fixture has no path that would need a PAX record."""
    split = split_ustar(path)
    if split is None:
        raise ValueError("path needs a PAX header, which this generator does not write: " + path)
    prefix, name = split
    h = (field(name, 100) + octal(0o755, 8) + octal(0, 8) + octal(0, 8) + octal(size, 12) + octal(mtime, 12)
         + b" " * 8 + b"0" + field("", 100) + b"ustar\x0000" + field("", 32) + field("", 32)
         + octal(0, 8) + octal(0, 8) + field(prefix, 155))
    h += b"\0" * (512 - len(h))
    chksum = sum(h)
    return h[:148] + ("%06o" % chksum).encode() + b"\0 " + h[156:]


def tar_stream(entries):
    out = io.BytesIO()
    for path, data in entries:
        out.write(tar_header(path, len(data), ENTRY_MTIME))
        out.write(data)
        out.write(b"\0" * (-len(data) % 512))
    out.write(b"\0" * 1024)  # Go's Writer.Close: two zero blocks, no padding to a 10 KiB record
    return out.getvalue()


def gzip_bytes(data):
    """Like Go's gzip.NewWriter: no file name, mtime 0, XFL 0 (default level), OS 255."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def item_path(gr, ns, name, version_dir=""):
    parts = ["resources", gr] + ([version_dir] if version_dir else [])
    parts += ["namespaces", ns] if ns else ["cluster"]
    return "/".join(parts + [name + ".json"])


# ----------------------------------------------------------------------------------------------
# The bucket files.

BACKUP_UID = uid(0xB0)


def backup_json(total):
    spec_fields = F(".", "f:csiSnapshotTimeout", "f:defaultVolumesToFsBackup", "f:hooks", "f:includedNamespaces",
                    "f:itemOperationTimeout", "f:metadata", "f:snapshotMoveData", "f:storageLocation", "f:ttl")
    server_fields = F(**{"f:metadata": F(**{
        "f:annotations": F(".", "f:velero.io/resource-timeout", "f:velero.io/source-cluster-k8s-gitversion",
                           "f:velero.io/source-cluster-k8s-major-version", "f:velero.io/source-cluster-k8s-minor-version"),
        "f:labels": F(".", "f:velero.io/storage-location")}),
        "f:status": F(".", "f:completionTimestamp", "f:expiration", "f:formatVersion", "f:hookStatus", "f:phase",
                      "f:progress", "f:startTimestamp", "f:version")})
    return {
        "kind": "Backup", "apiVersion": "velero.io/v1",
        "metadata": {
            "name": BACKUP, "namespace": "velero", "uid": BACKUP_UID, "resourceVersion": "1561", "generation": 6,
            "creationTimestamp": BACKUP_START,
            "labels": {"velero.io/storage-location": "default"},
            "annotations": {"velero.io/resource-timeout": "10m0s",
                            "velero.io/source-cluster-k8s-gitversion": K8S_GIT_VERSION,
                            "velero.io/source-cluster-k8s-major-version": "1",
                            "velero.io/source-cluster-k8s-minor-version": "29"},
            "managedFields": [
                {"manager": "velero", "operation": "Update", "apiVersion": "velero.io/v1", "time": BACKUP_START,
                 "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": spec_fields}},
                {"manager": "velero-server", "operation": "Update", "apiVersion": "velero.io/v1", "time": BACKUP_DONE,
                 "fieldsType": "FieldsV1", "fieldsV1": server_fields}]},
        "spec": {"metadata": {}, "includedNamespaces": [NS], "ttl": "720h0m0s", "hooks": {},
                 "storageLocation": "default", "defaultVolumesToFsBackup": False, "csiSnapshotTimeout": "10m0s",
                 "itemOperationTimeout": "4h0m0s", "snapshotMoveData": False},
        "status": {"version": 1, "formatVersion": "1.1.0", "expiration": EXPIRATION, "phase": "Completed",
                   "startTimestamp": BACKUP_START, "completionTimestamp": BACKUP_DONE,
                   "progress": {"totalItems": total, "itemsBackedUp": total}, "hookStatus": {}}}


def log_text(items):
    def line(at, level, msg, src, **fields):
        fields["backup"] = "velero/" + BACKUP
        fields["logSource"] = src
        parts = ['time="%s"' % at, "level=" + level, 'msg="%s"' % msg.replace('"', '\\"')]
        for k in sorted(fields):
            v = fields[k]
            plain = all(c.isalnum() or c in "-._/@^+" for c in v)
            parts.append("%s=%s" % (k, v if plain else '"%s"' % v))
        return " ".join(parts) + "\n"

    out = [line(BACKUP_START, "info", "Setting up backup temp file", "pkg/controller/backup_controller.go:662"),
           line(BACKUP_START, "info", "Setting up plugin manager", "pkg/controller/backup_controller.go:669"),
           line(BACKUP_START, "info", "Getting backup item actions", "pkg/controller/backup_controller.go:673"),
           line(BACKUP_START, "info", "Setting up backup store to check for backup existence",
                "pkg/controller/backup_controller.go:683"),
           line(BACKUP_START, "info", "Writing backup version file", "pkg/backup/backup.go:296"),
           line(BACKUP_START, "info", "Including namespaces: shop", "pkg/backup/backup.go:302"),
           line(BACKUP_START, "info", "Excluding namespaces: <none>", "pkg/backup/backup.go:303")]
    for gr, obj in items:
        m = obj["metadata"]
        out.append(line("2024-11-05T10:00:02Z", "info", "Backing up item", "pkg/backup/item_backupper.go:184",
                        name=m["name"], namespace=m.get("namespace", ""), resource=gr))
    out.append(line("2024-11-05T10:00:02Z", "info",
                    'Summary for skipped PVs: [{"name":"%s","reasons":[{"approach":"volumeSnapshot",'
                    '"reason":"no applicable volumesnapshotter found"}]}]' % PV, "pkg/backup/backup.go:553"))
    out.append(line("2024-11-05T10:00:02Z", "info", "Backed up a total of %d items" % len(items),
                    "pkg/backup/backup.go:557", progress=""))
    return "".join(out)


def resource_list(items):
    rl = {}
    for _, obj in items:
        m = obj["metadata"]
        key = obj["apiVersion"] + "/" + obj["kind"]
        rl.setdefault(key, []).append(m["namespace"] + "/" + m["name"] if "namespace" in m else m["name"])
    return {k: sorted(v) for k, v in rl.items()}


def volume_info():
    return [{"pvcName": "data", "pvcNamespace": NS, "pvName": PV, "snapshotDataMoved": False,
             "preserveLocalSnapshot": False, "skipped": True,
             "skippedReason": "volumeSnapshot: no applicable volumesnapshotter found;",
             "pvInfo": {"reclaimPolicy": "Retain", "labels": None}}]


def build():
    """Returns {relative path: bytes} of every file of the backup."""
    items = items_in_write_order()
    entries = [("metadata/version", b"1.1.0\n")]
    for gr, obj in items:
        data = go_marshal(obj)
        version = obj["apiVersion"].split("/")[-1]
        ns = obj["metadata"].get("namespace", "")
        name = obj["metadata"]["name"]
        entries.append((item_path(gr, ns, name), data))
        entries.append((item_path(gr, ns, name, version + "-preferredversion"), data))
    d = "backups/%s/" % BACKUP
    return {
        d + "velero-backup.json": go_indent(backup_json(len(items))),
        d + BACKUP + ".tar.gz": gzip_bytes(tar_stream(entries)),
        d + BACKUP + "-logs.gz": gzip_bytes(log_text(items).encode()),
        d + BACKUP + "-podvolumebackups.json.gz": gzip_bytes(go_encoder_line(None)),
        d + BACKUP + "-volumesnapshots.json.gz": gzip_bytes(go_encoder_line(None)),
        d + BACKUP + "-itemoperations.json.gz": gzip_bytes(go_encoder_line([])),
        d + BACKUP + "-resource-list.json.gz": gzip_bytes(go_encoder_line(resource_list(items))),
        d + BACKUP + "-results.gz": gzip_bytes(go_encoder_line({"errors": {}, "warnings": {}})),
        d + BACKUP + "-volumeinfo.json.gz": gzip_bytes(go_struct_line(volume_info())),
    }


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    root = os.path.join(out_dir, BACKUP)
    for rel, data in sorted(build().items()):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
