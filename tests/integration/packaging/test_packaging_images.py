"""Both images built for real with podman on the Debian base (hack/images/build.sh; cached layers
make a warm run quick) and run the way the cluster runs them: the sandbox image on the sample
batches with no network, a read-only root and uid 65532 (hack/images/run-sandbox.sh checks every
atom's result), the operator image read-only as uid 65532 with the pattern library in place."""

from __future__ import annotations

import subprocess

import pytest
from tests.integration.packaging.conftest import REPO

pytestmark = [pytest.mark.images, pytest.mark.slow]

RUN = [
    "podman",
    "--runtime",
    "runc",
    "run",
    "--rm",
    "--network=none",
    "--read-only",
    "--user",
    "65532:65532",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
    "--tmpfs",
    "/tmp",
]
MAX_SANDBOX_BYTES = 600 * 1024**2
MAX_OPERATOR_BYTES = 1100 * 1024**2
"""Size ceilings (bytes) that catch an accidental toolchain or cache in an image. The operator
image carries Node and tsc on purpose since it type-checks TypeScript atoms itself, as it runs
mypy for Python (833 MB before, 1.06 GB = 1,011 MiB with them)."""


@pytest.fixture(scope="module")
def images() -> dict[str, int]:
    """Build both images; image name -> size in bytes."""
    proc = subprocess.run(
        ["bash", str(REPO / "hack/images/build.sh"), "all"],
        capture_output=True,
        text=True,
        timeout=3000,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    sizes = {}
    for line in proc.stdout.strip().splitlines():
        name, size = line.split()
        sizes[name] = int(size)
    print("image sizes (bytes):", sizes)
    return sizes


def image(images: dict[str, int], kind: str) -> str:
    (name,) = [n for n in images if f"/mge-{kind}:" in n]
    return name


def test_sizes_stay_within_bounds(images: dict[str, int]) -> None:
    assert images[image(images, "sandbox")] < MAX_SANDBOX_BYTES
    assert images[image(images, "operator")] < MAX_OPERATOR_BYTES


def test_the_sandbox_image_runs_the_sample_batches_isolated(images: dict[str, int]) -> None:
    proc = subprocess.run(
        ["bash", str(REPO / "hack/images/run-sandbox.sh"), image(images, "sandbox")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sample-python: 3/4 passed as expected (pod)" in proc.stdout
    assert "sample-javascript: 1/2 passed as expected (pod)" in proc.stdout


def test_the_operator_image_has_its_patterns_and_runs_read_only(images: dict[str, int]) -> None:
    code = (
        "import os, shutil, kopf, chromadb\n"
        "from mge.rag.patterns import default_patterns_dir, PatternLibrary\n"
        "from mge.kube.crds import render\n"
        "patterns = PatternLibrary.load(default_patterns_dir())\n"
        "print(os.getuid(), len(list(patterns)), len(render()), bool(shutil.which('git')))\n"
    )
    proc = subprocess.run(
        [*RUN, "--entrypoint", "/opt/mge/bin/python", image(images, "operator"), "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    uid, patterns, crds, git = proc.stdout.split()
    assert uid == "65532" and int(patterns) > 50 and crds == "2"
    assert git == "True", "spec.output.git needs the git CLI in the operator image"
    helped = subprocess.run(
        [*RUN, image(images, "operator"), "operator", "run", "--help"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert helped.returncode == 0 and "--all-namespaces" in helped.stdout, helped.stderr
