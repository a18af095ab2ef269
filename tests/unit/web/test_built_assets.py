"""The built frontend shipped in the package matches webui/'s sources and lockfile.

The assets are committed (pip install and the images need no Node); webui/build.mjs writes
build-stamp.json with the sha256 of every input. This recomputes it the same way, so a change
to webui/ without `bash scripts/build-webui.sh` fails here — on a machine without Node.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
WEBUI = REPO / "webui"
DIST = REPO / "operator" / "mge" / "web" / "dist"


def inputs() -> list[str]:
    fixed = ["package.json", "package-lock.json", "build.mjs", "tsconfig.json"]
    sources = sorted(
        p.relative_to(WEBUI).as_posix() for p in (WEBUI / "src").rglob("*") if p.is_file()
    )
    return fixed + sources


def test_the_stamp_lists_every_input() -> None:
    stamp = json.loads((DIST / "build-stamp.json").read_text())
    assert stamp["inputs"] == inputs()


def test_the_committed_assets_are_built_from_the_current_sources() -> None:
    stamp = json.loads((DIST / "build-stamp.json").read_text())
    digest = hashlib.sha256()
    for name in inputs():
        digest.update(name.encode() + b"\0")
        digest.update((WEBUI / name).read_bytes())
        digest.update(b"\0")
    assert stamp["sha256"] == digest.hexdigest(), (
        "operator/mge/web/dist is stale: run `bash scripts/build-webui.sh` and commit it"
    )


def test_the_assets_are_there() -> None:
    for name in ("index.html", "assets/app.js", "assets/app.css"):
        assert (DIST / name).stat().st_size > 0
    assert "%MGE_STYLE_NONCE%" in (DIST / "index.html").read_text()
