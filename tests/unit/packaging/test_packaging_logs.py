"""mge.logs: JSON lines carry project, phase and trace id from contextvars, per asyncio task."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from mge.logs import configure_logging, current_context, log_context


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    buf = io.StringIO()
    configure_logging("DEBUG", "json", stream=buf)
    yield buf
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in saved:
        root.addHandler(h)
    root.setLevel(level)


def lines(buf: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_every_line_has_the_context_fields(stream: io.StringIO) -> None:
    log = logging.getLogger("mge.test")
    log.info("outside")
    with log_context(project="p1", phase="Planning") as tid:
        log.info("inside %s", "x", extra={"atom": "a1"})
    out = lines(stream)
    assert out[0]["project"] is None and out[0]["trace_id"] is None
    assert out[1]["message"] == "inside x"
    assert (out[1]["project"], out[1]["phase"], out[1]["trace_id"]) == ("p1", "Planning", tid)
    assert out[1]["atom"] == "a1" and out[1]["level"] == "INFO" and out[1]["logger"] == "mge.test"
    assert current_context() == {"project": None, "phase": None, "trace_id": None}


def test_nested_contexts_keep_the_trace_and_change_the_phase(stream: io.StringIO) -> None:
    log = logging.getLogger("mge.test")
    with log_context(project="p", phase="Planning") as outer:
        with log_context(phase="Atomizing") as inner:
            log.warning("w")
        log.info("back")
    a, b = lines(stream)
    assert inner == outer
    assert a["phase"] == "Atomizing" and b["phase"] == "Planning"


async def test_concurrent_tasks_do_not_mix_their_projects(stream: io.StringIO) -> None:
    log = logging.getLogger("mge.test")

    async def work(name: str) -> None:
        with log_context(project=name, phase="Executing"):
            for i in range(3):
                log.info("step %d", i)
                await asyncio.sleep(0)

    await asyncio.gather(work("a"), work("b"))
    out = [x for x in lines(stream) if x["logger"] == "mge.test"]
    assert len(out) == 6
    by_project = {p: {str(x["trace_id"]) for x in out if x["project"] == p} for p in "ab"}
    assert all(len(t) == 1 for t in by_project.values())
    assert by_project["a"] != by_project["b"]


def test_kopf_object_name_is_the_project_when_none_is_bound(stream: io.StringIO) -> None:
    logging.getLogger("kopf.objects").info("handled", extra={"k8s_obj": {"name": "demo"}})
    assert lines(stream)[0]["project"] == "demo"


def test_exceptions_are_one_json_line(stream: io.StringIO) -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("mge.test").exception("failed")
    (line,) = lines(stream)
    assert "ValueError: bad" in str(line["exc_info"])


def test_text_format_for_terminals_shows_dashes_when_unset() -> None:
    root = logging.getLogger()
    saved = list(root.handlers)
    buf = io.StringIO()
    try:
        configure_logging("INFO", "text", stream=buf)
        logging.getLogger("mge.t").info("plain")
        with log_context(project="p", phase="Reviewing", trace_id="abc"):
            logging.getLogger("mge.t").debug("hidden")
            logging.getLogger("mge.t").info("ctx")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
    first, second = buf.getvalue().splitlines()
    assert "[- - -] plain" in first
    assert "[p Reviewing abc] ctx" in second
