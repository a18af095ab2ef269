#!/usr/bin/env bash
# Run the sandbox image on the sample batches the way a sandbox Job runs it: no network, a
# read-only root filesystem, uid 65532, all capabilities dropped, no privilege escalation, the
# batch mounted read-only at /input and tmpfs for /work and /tmp. Checks every atom's result
# against sandbox-image/sample/expected.json; exit 1 on any difference.
#   hack/images/run-sandbox.sh [IMAGE]     (default localhost/mge-sandbox:<package version>)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TAG=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)
IMAGE=${1:-${MGE_SANDBOX_IMAGE:-localhost/mge-sandbox:$TAG}}
SAMPLE=$REPO/sandbox-image/sample
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

run() {  # run EXTRA_ARGS... -- CMD...
  podman --runtime runc run --rm --network=none --read-only --user 65532:65532 \
    --cap-drop=ALL --security-opt=no-new-privileges \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --tmpfs /work:rw,size=256m --tmpfs /tmp:rw,size=64m \
    -v "$SAMPLE:/input:ro" "$@"
}

# The toolchain is there and runs as the sandbox user.
run --entrypoint /opt/node/bin/tsc "$IMAGE" --version >"$OUT/tsc.txt"
run --entrypoint /opt/node/bin/node "$IMAGE" --version >"$OUT/node.txt"
echo "sandbox: $(cat "$OUT/node.txt") node, $(cat "$OUT/tsc.txt")" >&2

for batch in "$SAMPLE"/*-batch.json; do
  name=$(basename "$batch")
  # The Job's own arguments (operator/mge/kube/children.py), scratch in the /work emptyDir.
  t0=$(date +%s.%N)
  run "$IMAGE" sandbox run "/input/$name" --isolation=pod --scratch /work \
    >"$OUT/$name.out" 2>"$OUT/$name.err" || { cat "$OUT/$name.err" >&2; exit 1; }
  echo "sandbox: $name ran in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s: $(tail -n 1 "$OUT/$name.err")" >&2
done

python3 - "$OUT" "$SAMPLE/expected.json" <<'PY'
import json, pathlib, sys
out, expected = pathlib.Path(sys.argv[1]), json.loads(pathlib.Path(sys.argv[2]).read_text())
bad = []
for path in sorted(out.glob("*-batch.json.out")):
    # The result is the last line of stdout that parses as JSON (as the operator reads pod logs).
    result = None
    for line in reversed(path.read_text().splitlines()):
        try:
            result = json.loads(line)
            break
        except ValueError:
            continue
    if result is None:
        bad.append(f"{path.name}: no JSON result"); continue
    want = expected.pop(result["batchId"], None)
    got = {o["atomId"]: o["passed"] for o in result["outcomes"]}
    if got != want:
        detail = {o["atomId"]: (o.get("reason"), o.get("stderrTail", "")[-300:]) for o in result["outcomes"] if o["passed"] != (want or {}).get(o["atomId"])}
        bad.append(f"{result['batchId']}: got {got}, expected {want}; {detail}")
    print(f"{result['batchId']}: {sum(got.values())}/{len(got)} passed as expected ({result['isolation']})" if got == want else "")
if expected:
    bad.append(f"batches without a result: {sorted(expected)}")
if bad:
    print("\n".join(bad), file=sys.stderr); sys.exit(1)
PY
