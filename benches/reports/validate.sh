#!/usr/bin/env bash
# Checks rotproof's CI report forms with the reference tools: SARIF 2.1.0
# against the official schema (OASIS sarif-spec, sarif-2.1/schema/), JUnit
# XML with junitparser. Not part of `cargo test` (it installs from PyPI).
#
#   benches/reports/validate.sh target/release/rotproof /path/to/sarif-schema-2.1.0.json
#
# The schema file comes from https://github.com/oasis-tcs/sarif-spec
# (sarif-2.1/schema/sarif-schema-2.1.0.json).
set -euo pipefail
bin=$(realpath "$1")
schema=$(realpath "$2")
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q jsonschema junitparser

# A server with one image, on a free loopback port.
mkdir -p "$work/www"
python3 -c "import base64,sys; sys.stdout.buffer.write(base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='))" > "$work/www/live.png"
cp "$work/www/live.png" "$work/www/gone.png"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/live.png" && break; sleep 0.1; done

mkdir -p "$work/site/posts"
cat > "$work/site/posts/a post, with \"quotes\" & <signs>.md" <<MD
---
title: one
---

![live](http://127.0.0.1:$port/live.png)

![gone](http://127.0.0.1:$port/gone.png)

[never there](http://127.0.0.1:$port/never.html)
MD
cd "$work/site"
env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
    "$bin" archive posts --archives none -q || true
rm "$work/www/gone.png"
for form in sarif junit; do
    env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY \
        "$bin" check --format "$form" > "$work/report.$form" 2>/dev/null || test $? -eq 3
done

"$work/venv/bin/python" - "$schema" "$work/report.sarif" "$work/report.junit" <<'PY'
import json, sys
import jsonschema
from junitparser import JUnitXml

schema = json.load(open(sys.argv[1]))
log = json.load(open(sys.argv[2]))
jsonschema.Draft4Validator(schema).validate(log)
results = log["runs"][0]["results"]
rules = sorted(r["ruleId"] for r in results)
assert rules == ["dead-kept", "dead-lost"], rules
lines = sorted(l["physicalLocation"]["region"]["startLine"] for r in results for l in r["locations"])
assert lines == [7, 9], lines
print(f"SARIF: valid against the 2.1.0 schema; {len(results)} results at lines {lines}")

xml = JUnitXml.fromfile(sys.argv[3])
suites = list(xml)
cases = [c for s in suites for c in s]
failed = [c for c in cases if not c.is_passed]
assert len(suites) == 1 and len(cases) == 3 and len(failed) == 2, (len(suites), len(cases), len(failed))
print(f"JUnit: parsed; {len(suites)} suite ({suites[0].name}), {len(cases)} cases, {len(failed)} failed")
PY
