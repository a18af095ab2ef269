"""The benchmark harness that runs in the sandbox, and how its output is read.

A benchmark is a module of the skeleton, ``tests/benchmarks/bench_<name>.py``, that names its
criterion and gives two functions::

    CRITERION = "AC-7"

    def setup(size: int) -> Repo: ...      # builds the input; not timed
    def run(state: Repo) -> None: ...      # the operation the budget is for; timed

:data:`DRIVER` (``python -s -c DRIVER CONFIG``, standard library only) does, per benchmark:
one warm-up run, then ``repetitions`` timed runs, each on a fresh ``setup(size)`` with the
garbage collector collected before and paused during the run (as ``timeit`` does), then one
more run under ``cProfile`` (not timed) to see where the time went. It prints one
``MGE-PERF {json}`` line per benchmark: the samples in ms and, for each function of the project
that ran, its time including the library code it called directly, and its project callers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PERF_MARKER = "MGE-PERF "
"""Prefix of the driver's result lines (one JSON object each)."""
PROFILE_TOP = 60
"""Project functions reported per profiled run, most time first (the output tail is bounded)."""
BENCHMARK_DIR = "tests/benchmarks"
"""Where the skeleton puts its benchmarks (test-like files: not atoms, not collected by pytest)."""

_CRITERION = re.compile(
    r"^(?:export\s+const\s+)?CRITERION\s*(?::\s*[\w\[\]]+\s*)?=\s*[\"'](?P<id>AC-\d+)[\"']", re.M
)
BENCHMARK_SUFFIXES = (".py", ".ts", ".js", ".mjs")
"""Benchmark files: Python modules, or ES modules Node runs (``.ts`` with types stripped)."""


def benchmark_files(files: Mapping[str, str]) -> dict[str, str]:
    """Criterion id → the benchmark file that measures it (pure; the first file wins)."""
    found: dict[str, str] = {}
    for path in sorted(files):
        name = path.rsplit("/", 1)[-1]
        if not (path.startswith(BENCHMARK_DIR + "/") and name.startswith("bench_")):
            continue
        if not path.endswith(BENCHMARK_SUFFIXES):
            continue
        m = _CRITERION.search(files[path])
        if m and m.group("id") not in found:
            found[m.group("id")] = path
    return found


# Runs as `python -s -c DRIVER CONFIG` in the project folder. Standard library only.
DRIVER = """\
import cProfile, gc, importlib, json, os, pstats, sys, time, traceback

MARK = {marker!r}
TOP = {top}
root = os.getcwd()
sys.path.insert(0, root)
config = json.loads(sys.argv[1])


def project(path):
    if not path.endswith(".py"):
        return False
    path = os.path.abspath(path)
    return path.startswith(root + os.sep) and "site-packages" not in path


def timed(mod, size):
    state = mod.setup(size)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        mod.run(state)
        return (time.perf_counter() - start) * 1000.0
    finally:
        gc.enable()


def profile(mod, size):
    state = mod.setup(size)
    prof = cProfile.Profile()
    prof.runcall(mod.run, state)
    stats = pstats.Stats(prof).stats
    own = {{}}
    callers = {{}}
    for key, (cc, nc, tt, ct, who) in stats.items():
        path, line, name = key
        if project(path):
            own[key] = own.get(key, 0.0) + tt
            callers[key] = [
                [os.path.relpath(c[0], root), c[1], c[2]] for c in who if project(c[0])
            ]
        else:
            for caller, data in who.items():
                if project(caller[0]):
                    own[caller] = own.get(caller, 0.0) + data[3]
    total = sum(own.values())
    top = sorted(own.items(), key=lambda kv: -kv[1])[:TOP]
    return total, [
        {{"path": os.path.relpath(k[0], root), "line": k[1], "name": k[2], "seconds": s,
          "callers": callers.get(k, [])[:8]}}
        for k, s in top
    ]


for bench in config["benchmarks"]:
    out = {{"criterion": bench["criterion"], "samples_ms": [], "profile": [], "total_s": 0.0}}
    try:
        mod = importlib.import_module(bench["module"])
        timed(mod, bench["size"])
        out["samples_ms"] = [timed(mod, bench["size"]) for _ in range(bench["repetitions"])]
        if bench.get("profile", True):
            out["total_s"], out["profile"] = profile(mod, bench["size"])
    except BaseException as e:
        out["error"] = "".join(traceback.format_exception(e))[-3000:]
    print(MARK + json.dumps(out), flush=True)
"""


@dataclass(frozen=True)
class ProfiledFunction:
    """One project function that ran during the profiled run."""

    path: str
    line: int
    name: str
    seconds: float
    callers: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True)
class Measurement:
    """What the driver printed for one benchmark."""

    criterion: str
    samples_ms: tuple[float, ...] = ()
    profile: tuple[ProfiledFunction, ...] = ()
    total_s: float = 0.0
    error: str = ""


def driver_command(benchmarks: Sequence[Mapping[str, Any]]) -> list[str]:
    """The argv of the sandbox item that runs ``benchmarks`` (criterion, module, size,
    repetitions, profile) one after the other."""
    config = json.dumps({"benchmarks": list(benchmarks)})
    return ["python", "-s", "-c", DRIVER.format(marker=PERF_MARKER, top=PROFILE_TOP), config]


def parse_measurements(text: str) -> dict[str, Measurement]:
    """The driver's ``MGE-PERF`` lines by criterion id (pure; unreadable lines are skipped)."""
    out: dict[str, Measurement] = {}
    for line in text.splitlines():
        if not line.startswith(PERF_MARKER):
            continue
        try:
            data = json.loads(line[len(PERF_MARKER) :])
            profile = tuple(
                ProfiledFunction(
                    path=str(p["path"]),
                    line=int(p["line"]),
                    name=str(p["name"]),
                    seconds=float(p["seconds"]),
                    callers=tuple((str(c[0]), int(c[1]), str(c[2])) for c in p.get("callers", [])),
                )
                for p in data.get("profile", [])
            )
            m = Measurement(
                criterion=str(data["criterion"]),
                samples_ms=tuple(float(s) for s in data.get("samples_ms", [])),
                profile=profile,
                total_s=float(data.get("total_s", 0.0)),
                error=str(data.get("error", "")),
            )
        except (ValueError, KeyError, TypeError, IndexError):
            continue
        out[m.criterion] = m
    return out
