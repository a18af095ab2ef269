"""Versioned prompt templates, loaded from the files beside this module.

A template is ``NAME.vN.md``: a front-matter block, then two parts separated by a line
``=== prompt ===``. The part above is the *stable* system context (sent first, marked for prompt
caching); the part below is the variable prompt. Placeholders are ``$name`` (string.Template), so
code, braces and JSON in templates need no escaping::

    ---
    name: discovery
    version: 1
    output: DiscoveryResult
    ---
    You are ... (stable)
    === prompt ===
    Requirements:
    $requirements
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

import yaml

from mge.errors import InputError

__all__ = ["PromptTemplate", "load", "render"]

_HERE = Path(__file__).parent
_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.S)
_SPLIT = "\n=== prompt ===\n"


@dataclass(frozen=True)
class PromptTemplate:
    """A parsed template: name, version, the output model it expects, and its two parts."""

    name: str
    version: int
    output: str | None
    system: str
    prompt: str

    @property
    def ref(self) -> str:
        """``name@vN``, recorded with every attempt."""
        return f"{self.name}@v{self.version}"

    def render(self, **values: object) -> tuple[str, str]:
        """(system, prompt) with placeholders filled; a missing value is an error naming it."""
        try:
            sys_t = Template(self.system).substitute({k: str(v) for k, v in values.items()})
            pr_t = Template(self.prompt).substitute({k: str(v) for k, v in values.items()})
        except KeyError as e:
            raise InputError(f"prompt {self.ref} needs a value for ${e.args[0]}") from e
        return sys_t, pr_t


@cache
def load(name: str) -> PromptTemplate:
    """The newest version of template ``name``."""
    files = sorted(
        _HERE.glob(f"{name}.v*.md"), key=lambda p: int(p.name.rsplit(".v", 1)[1].split(".")[0])
    )
    if not files:
        raise InputError(f"no prompt template named {name!r} in {_HERE}")
    text = files[-1].read_text()
    m = _FRONT.match(text)
    if not m:
        raise InputError(f"prompt template {files[-1].name} has no front matter")
    meta = yaml.safe_load(m.group(1))
    body = text[m.end() :]
    system, _, prompt = body.partition(_SPLIT)
    if not prompt:
        system, prompt = "", body
    return PromptTemplate(
        name=meta["name"],
        version=int(meta["version"]),
        output=meta.get("output"),
        system=system.strip(),
        prompt=prompt.strip(),
    )


def render(name: str, **values: object) -> tuple[str, str]:
    """Shortcut: load(name).render(**values)."""
    return load(name).render(**values)
