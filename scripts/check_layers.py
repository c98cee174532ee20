#!/usr/bin/env python3
"""Fails when a module includes a module of a higher layer (DESIGN.md "Modules and layers").

Modules are the directories under src/ and include/lifeboat/; a file of module M may include
public headers ("lifeboat/N/...") and private headers ("src/N/...") only of modules N whose layer
is lower than or equal to M's (same-layer siblings are not allowed to depend on each other
except as listed). kubesim may use only common and http. Run: python3 scripts/check_layers.py
"""
import os
import re
import sys

LAYERS = {
    "common": 1, "http": 1,
    "kube": 2, "storage": 2, "archive": 2, "api": 2, "repo": 2,
    "plugin": 3, "engine": 3, "volume": 3,
    "backup": 4, "restore": 4,
    "controller": 5,
    "server": 6, "cli": 6,
}
# Same-layer dependencies that are part of the design (http builds on common; the built-in
# volume snapshotters implement the plugin interface).
ALLOWED_SAME_LAYER = {("http", "common"), ("volume", "plugin")}
KUBESIM_MAY_USE = {"common", "http"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"(?:lifeboat|src)/([a-z_]+)/')


def module_of(path):
    parts = path.split(os.sep)
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[:2] == ["include", "lifeboat"] and len(parts) > 3:
        return parts[2]
    if parts[0] == "kubesim":
        return "kubesim"
    return None


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    os.chdir(root)
    problems = []
    for top in ("src", "include/lifeboat", "kubesim"):
        for dirpath, _, files in os.walk(top):
            for f in files:
                if not f.endswith((".h", ".cc")):
                    continue
                path = os.path.normpath(os.path.join(dirpath, f))
                mod = module_of(path)
                if mod is None:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        dep = m.group(1)
                        if dep == mod:
                            continue
                        if mod == "kubesim":
                            ok = dep in KUBESIM_MAY_USE
                        elif mod not in LAYERS or dep not in LAYERS:
                            ok = False
                            problems.append("%s:%d: module %r or %r is not in the layer table" % (path, n, mod, dep))
                            continue
                        else:
                            ok = LAYERS[dep] < LAYERS[mod] or (mod, dep) in ALLOWED_SAME_LAYER
                        if not ok:
                            problems.append("%s:%d: %s (layer %s) must not include %s (layer %s)" % (
                                path, n, mod, LAYERS.get(mod, "kubesim"), dep, LAYERS.get(dep, "?")))
    for p in problems:
        print(p)
    print("layer check: %d problem(s)" % len(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
