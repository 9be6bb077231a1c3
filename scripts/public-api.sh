#!/usr/bin/env bash
# Print the size of the public API (items and inherent methods, all
# features, from rustdoc's JSON output) and of the adapters (non-blank,
# non-comment lines outside test files), so every CI log shows them.
# rustdoc JSON is unstable: RUSTC_BOOTSTRAP=1 enables it on this stable
# toolchain for this one command.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTC_BOOTSTRAP=1 cargo rustdoc --all-features --lib --locked --quiet -- \
  -Z unstable-options --output-format json
python3 - <<'PY'
import json, collections, pathlib, re
d = json.load(open("target/doc/portcullis.json"))
idx, paths = d["index"], d["paths"]
kinds = collections.Counter(
    v["kind"] for v in paths.values()
    if v["crate_id"] == 0 and v["kind"] not in ("module", "variant", "impl")
)
methods = 0
for v in idx.values():
    imp = v.get("inner", {}).get("impl")
    if v.get("crate_id") == 0 and imp and imp.get("trait") is None:
        for it in imp["items"]:
            m = idx.get(str(it))
            if m and "function" in m["inner"] and m.get("visibility") == "public":
                methods += 1
print("public items (all features): %d  %s" % (sum(kinds.values()), dict(sorted(kinds.items()))))
print("public inherent methods: %d" % methods)
lines = 0
for f in pathlib.Path("adapters").rglob("*.rs"):
    if f.name == "tests.rs":
        continue
    for line in f.read_text().splitlines():
        s = line.strip()
        if s and not s.startswith("//"):
            lines += 1
print("adapter lines (non-blank, non-comment, outside tests.rs): %d" % lines)
PY
