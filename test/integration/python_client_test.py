#!/usr/bin/env python3
"""Conformance of an API server as the official Python client (python3-kubernetes) sees it.

Runs against KUBECONFIG (kubesim in CI). Checks that need kubesim's own hooks (compaction, the
read-only viewer user, 413 limit) are skipped elsewhere. Prints "N passed, M failed".
"""
import json
import os
import random
import sys
import threading
import time
import traceback

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

config.load_kube_config()
api_client = client.ApiClient()
core = client.CoreV1Api()
apps = client.AppsV1Api()
NS = "py-%06d" % random.randint(0, 999999)
version = client.VersionApi().get_code().git_version
IS_KUBESIM = "kubesim" in version
results = {"passed": 0, "failed": 0}


def case(fn):
    try:
        fn()
        results["passed"] += 1
        print("ok   " + fn.__name__)
    except Exception:  # noqa: BLE001 - report every failure and go on
        results["failed"] += 1
        print("FAIL " + fn.__name__)
        print("     | " + traceback.format_exc().replace("\n", "\n     | "))
    return fn


def expect_api_error(code, reason, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        body = json.loads(e.body) if e.body else {}
        assert e.status == code, "status %s != %s: %s" % (e.status, code, e.body)
        assert body.get("kind") == "Status", "error body is not a Status: %s" % e.body
        assert body.get("reason") == reason, "reason %r != %r" % (body.get("reason"), reason)
        assert body.get("code") == code, "Status.code %r != %r" % (body.get("code"), code)
        return body
    raise AssertionError("expected %d %s, call succeeded" % (code, reason))


def cm(name, labels=None, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or {}),
                              data=data or {"k": "v"})


core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))


@case
def list_namespaces():
    names = [n.metadata.name for n in core.list_namespace().items]
    for want in ("default", "kube-system", "kube-public", "kube-node-lease", NS):
        assert want in names, names


@case
def create_get_update_delete_configmap():
    created = core.create_namespaced_config_map(NS, cm("crud", {"app": "x"}))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    got = core.read_namespaced_config_map("crud", NS)
    got.data["k"] = "v2"
    updated = core.replace_namespaced_config_map("crud", NS, got)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    status = core.delete_namespaced_config_map("crud", NS)
    assert status.status == "Success", status
    expect_api_error(404, "NotFound", core.read_namespaced_config_map, "crud", NS)


@case
def paginated_list_with_continue():
    for i in range(23):
        core.create_namespaced_config_map(NS, cm("page-%02d" % i, {"set": "paged"}))
    names, cont, pages = [], None, 0
    while True:
        resp = core.list_namespaced_config_map(NS, label_selector="set=paged", limit=5, _continue=cont)
        names += [c.metadata.name for c in resp.items]
        pages += 1
        cont = resp.metadata._continue
        if not cont:
            break
    assert names == sorted(names) and len(names) == 23 and pages == 5, (pages, names)


@case
def remaining_item_count_without_selectors():
    resp = core.list_namespaced_config_map(NS, limit=2)
    assert resp.metadata.remaining_item_count is not None and resp.metadata.remaining_item_count > 0


@case
def label_and_field_selectors():
    core.create_namespaced_config_map(NS, cm("sel-a", {"tier": "front", "env": "prod"}))
    core.create_namespaced_config_map(NS, cm("sel-b", {"tier": "back"}))
    def names(**kw):
        return sorted(c.metadata.name for c in core.list_namespaced_config_map(NS, **kw).items)
    assert names(label_selector="tier in (front,back)") == ["sel-a", "sel-b"]
    assert names(label_selector="tier,!env") == ["sel-b"]
    assert names(label_selector="tier!=front,tier") == ["sel-b"]
    assert names(field_selector="metadata.name=sel-a") == ["sel-a"]
    expect_api_error(400, "BadRequest", core.list_namespaced_config_map, NS, label_selector="tier in (")
    expect_api_error(400, "BadRequest", core.list_namespaced_config_map, NS, field_selector="spec.nope=1")


@case
def watch_sees_added_modified_deleted():
    rv = core.list_namespaced_config_map(NS).metadata.resource_version
    seen = []
    def consume():
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=10):
            if ev["object"].metadata.name == "watched":
                seen.append(ev["type"])
                if ev["type"] == "DELETED":
                    w.stop()
    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.5)
    core.create_namespaced_config_map(NS, cm("watched"))
    core.patch_namespaced_config_map("watched", NS, {"data": {"k": "changed"}})
    core.delete_namespaced_config_map("watched", NS)
    t.join(15)
    assert seen == ["ADDED", "MODIFIED", "DELETED"], seen


@case
def error_statuses():
    core.create_namespaced_config_map(NS, cm("dup"))
    expect_api_error(409, "AlreadyExists", core.create_namespaced_config_map, NS, cm("dup"))
    body = expect_api_error(422, "Invalid", core.create_namespaced_config_map, NS, cm("Bad_Name"))
    causes = body["details"]["causes"]
    assert causes[0]["field"] == "metadata.name" and causes[0]["reason"] == "FieldValueInvalid", causes
    expect_api_error(404, "NotFound", core.create_namespaced_config_map, "no-such-namespace", cm("x"))
    stale = core.read_namespaced_config_map("dup", NS)
    core.patch_namespaced_config_map("dup", NS, {"metadata": {"labels": {"bump": "1"}}})
    expect_api_error(409, "Conflict", core.replace_namespaced_config_map, "dup", NS, stale)


@case
def malformed_and_unsupported_bodies():
    path = "/api/v1/namespaces/%s/configmaps" % NS
    def raw(method, body, content_type, url=path):
        return api_client.call_api(url, method, body=body, header_params={"Content-Type": content_type},
                                   auth_settings=["BearerToken"], _preload_content=False)
    expect_api_error(400, "BadRequest", raw, "POST", "{not json", "application/json")
    expect_api_error(415, "UnsupportedMediaType", raw, "PATCH", '{"data": {}}', "text/plain", path + "/dup")


@case
def patch_types():
    core.create_namespaced_config_map(NS, cm("patched", data={"a": "1", "b": "2"}))
    core.patch_namespaced_config_map("patched", NS, [{"op": "remove", "path": "/data/b"}])
    got = core.read_namespaced_config_map("patched", NS)
    assert got.data == {"a": "1"}, got.data
    apps.create_namespaced_deployment(NS, client.V1Deployment(
        metadata=client.V1ObjectMeta(name="smp"),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": "smp"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "smp"}),
                spec=client.V1PodSpec(containers=[
                    client.V1Container(name="a", image="busybox"),
                    client.V1Container(name="b", image="busybox")])))))
    apps.patch_namespaced_deployment("smp", NS, {"spec": {"template": {"spec": {"containers": [
        {"name": "b", "image": "busybox:2"}]}}}})
    d = apps.read_namespaced_deployment("smp", NS)
    images = [(c.name, c.image) for c in d.spec.template.spec.containers]
    assert images == [("a", "busybox"), ("b", "busybox:2")], images
    assert d.metadata.generation == 2, d.metadata.generation


@case
def dry_run_all_stores_nothing():
    core.create_namespaced_config_map(NS, cm("dry"), dry_run="All")
    expect_api_error(404, "NotFound", core.read_namespaced_config_map, "dry", NS)


@case
def dynamic_client_and_preferred_versions():
    dyn = dynamic.DynamicClient(api_client)
    hpa = dyn.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
    assert hpa.namespaced
    groups = client.ApisApi().get_api_versions()
    auto = [g for g in groups.groups if g.name == "autoscaling"][0]
    assert auto.preferred_version.version == "v2", auto
    assert sorted(v.version for v in auto.versions) == ["v1", "v2"]
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    assert any(i.metadata.name == "smp" for i in deployments.get(namespace=NS).items)


@case
def unauthenticated_is_401():
    conf = client.Configuration.get_default_copy()
    conf.api_key = {"authorization": "Bearer not-a-valid-token"}
    conf.cert_file = conf.key_file = None
    anon = client.CoreV1Api(client.ApiClient(conf))
    expect_api_error(401, "Unauthorized", anon.list_namespace)


@case
def oversized_body_is_413():
    if not IS_KUBESIM:
        return
    big = cm("big", data={"blob": "x" * (4 * 1024 * 1024)})
    expect_api_error(413, "RequestEntityTooLarge", core.create_namespaced_config_map, NS, big)


@case
def expired_continue_is_410():
    if not IS_KUBESIM:
        return
    first = core.list_namespaced_config_map(NS, limit=2)
    # A write after the list's revision, then a compaction: the list's snapshot is gone.
    core.create_namespaced_config_map(NS, cm("after-first-page"))
    api_client.call_api("/kubesim/v1/compact", "POST", auth_settings=["BearerToken"], _preload_content=False)
    body = expect_api_error(410, "Expired", core.list_namespaced_config_map, NS, limit=2,
                            _continue=first.metadata._continue)
    assert "continue" in body["message"]


@case
def old_watch_gets_410_error_event():
    if not IS_KUBESIM:
        return
    w = watch.Watch()
    try:
        for ev in w.stream(core.list_namespaced_config_map, NS, resource_version="1", timeout_seconds=5):
            raise AssertionError("expected an ERROR, got %s" % ev["type"])
    except ApiException as e:
        assert e.status == 410, e
    else:
        raise AssertionError("watch from an expired resourceVersion did not fail")


@case
def viewer_cannot_write():
    contexts = [c["name"] for c in config.list_kube_config_contexts()[0]]
    if "kubesim-viewer" not in contexts or os.environ.get("KUBESIM_AUTHZ") != "ReadOnlyViewer":
        return
    viewer = client.CoreV1Api(config.new_client_from_config(context="kubesim-viewer"))
    viewer.list_namespaced_config_map(NS)
    body = expect_api_error(403, "Forbidden", viewer.create_namespaced_config_map, NS, cm("nope"))
    assert 'User "kubesim-viewer" cannot create resource "configmaps"' in body["message"], body["message"]


@case
def namespace_deletion_removes_contents():
    core.delete_namespace(NS)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            ns = core.read_namespace(NS)
            assert ns.status.phase == "Terminating", ns.status.phase
        except ApiException as e:
            assert e.status == 404
            return
        time.sleep(0.3)
    raise AssertionError("namespace %s not deleted within 30s" % NS)


print("%d passed, %d failed" % (results["passed"], results["failed"]))
sys.exit(1 if results["failed"] else 0)
