#!/usr/bin/env bash
# Keep the declared `rust-version` honest without a second toolchain: it
# must be at least the highest `rust-version` any normal (non-dev)
# dependency declares, with all features on. Clippy's `incompatible_msrv`
# lint (denied in Cargo.toml's [lints]) checks our own code against it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --all-features --locked 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
pkgs = {p["id"]: p for p in d["packages"]}
nodes = {n["id"]: n for n in d["resolve"]["nodes"]}
root = d["resolve"]["root"]
def ver(v):
    parts = [int(x) for x in v.split(".")] + [0, 0]
    return tuple(parts[:3])
seen, todo = set(), [root]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for dep in nodes[i]["deps"]:
        if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
            todo.append(dep["pkg"])
ours = pkgs[root]["rust_version"]
need = max((ver(pkgs[i]["rust_version"]), pkgs[i]["name"], pkgs[i]["rust_version"])
           for i in seen if i != root and pkgs[i].get("rust_version"))
print("rust-version: declared %s, highest of the dependencies %s (%s)" % (ours, need[2], need[1]))
if ver(ours) < need[0]:
    sys.exit("error: rust-version %s is lower than %s requires (%s)" % (ours, need[1], need[2]))
'
