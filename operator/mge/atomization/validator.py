"""The AtomicityValidator: ten named criteria, each pass/fail with a reason a person can act on.

==========================  ==================================================================
criterion                   passes when
==========================  ==================================================================
size                        estimated lines of code ≤ ``max_loc``
complexity                  cyclomatic complexity ≤ ``max_complexity``
single_responsibility       the spec's summary states one action (no "and then", "and also",
                            "as well as", "; then") and it calls at most ``MAX_CALLEES`` atoms
                            besides its own split parts
has_test                    a test calls it (a statement group inherits its function's tests;
                            a class passes when it or one of its methods is tested;
                            module-level statements run on import and always pass)
typed_io                    every parameter and the return value are annotated (functions and
                            methods; JS takes JSDoc ``@param {T}``/``@returns {T}``)
no_hidden_global_state      it declares no ``global``/``nonlocal`` (or, in JS/TS, assigns no
                            undeclared name) and mutates no module-level value; a stub passes
                            unless its spec speaks of global state
deterministic               it calls no clock or random source (``random``, ``time.time``,
                            ``datetime.now``, ``uuid4``, ``Math.random``, ``Date.now``…); a stub
                            passes unless its spec needs time/randomness without a parameter to
                            inject it (``clock``, ``now``, ``rng``, ``seed``…)
dependencies_declared       every project definition it refers to is among its dependencies and
                            every name it calls or declares in ``Uses:`` exists
context_complete            its context pack's completeness ≥ the target (0.95)
one_file                    it lives in one file whose suffix matches its language
==========================  ==================================================================

Pure: the checks read the atom and, when available, the facts the parser found (its
definition, the names nothing defines, the module-level names of its file).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from mge.atomization.atomize import Atomization
from mge.atomization.batch import collector_paused
from mge.atomization.context import CONTEXT_TARGET
from mge.atomization.contracts import parse_contract
from mge.atomization.languages import GRAMMAR_LANGUAGE, grammar_for
from mge.atomization.packing import Limits
from mge.atomization.syntax import Definition
from mge.errors import InputError
from mge.models.atoms import AtomicityReport, AtomicUnit, CriterionResult

MAX_CALLEES = 7
"""More distinct atoms called than this reads as orchestrating several responsibilities."""

NONDETERMINISTIC_CALLS = frozenset(
    {
        ("random", "*"),
        ("secrets", "*"),
        ("time", "time"),
        ("time", "time_ns"),
        ("time", "monotonic"),
        ("time", "perf_counter"),
        ("datetime", "now"),
        ("datetime", "utcnow"),
        ("datetime", "today"),
        ("datetime.datetime", "now"),
        ("datetime.datetime", "utcnow"),
        ("date", "today"),
        ("datetime.date", "today"),
        ("uuid", "uuid1"),
        ("uuid", "uuid4"),
        ("os", "urandom"),
        ("Math", "random"),
        ("Date", "now"),
        ("crypto", "randomUUID"),
        ("crypto", "getRandomValues"),
        ("performance", "now"),
    }
)
"""(receiver, name) pairs whose result differs from run to run; ``*`` matches any name."""

_CONJUNCTION = re.compile(r"\band then\b|\band also\b|\bas well as\b|;\s*then\b", re.IGNORECASE)
_GLOBAL_WORDS = re.compile(r"\bglobal\b|\bsingleton\b|\bmodule[- ]level (?:state|variable)", re.I)
_TIME_WORDS = re.compile(
    r"\brandom(?:ly)?\b|\bcurrent (?:time|date)\b|\btime now\b|\bright now\b|\btoday\b"
    r"|\buuid[14]\b",
    re.I,
)
_INJECTED = re.compile(r"clock|now|rng|random|seed|today|time|uuid", re.I)


@dataclass(frozen=True)
class AtomFacts:
    """What the parser knows about an atom beyond the model (all optional)."""

    definition: Definition | None = None
    unresolved: tuple[str, ...] = ()
    module_names: frozenset[str] = frozenset()
    referenced_atoms: frozenset[str] = frozenset()
    inherited_tests: bool = False
    member_tests: bool = False
    callees: int = 0
    """Atoms it calls, its own split parts not counted."""


@dataclass(frozen=True)
class Criterion:
    """A named check: ``check(atom, facts, validator) -> (passed, reason)``."""

    name: str
    check: Callable[[AtomicUnit, AtomFacts, AtomicityValidator], tuple[bool, str]] = field(
        repr=False
    )


def _size(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    limit = v.limits.max_loc
    if a.estimated_loc <= limit:
        return True, f"{a.estimated_loc} lines of code ≤ {limit}"
    return False, f"{a.estimated_loc} lines of code > {limit}: split it further"


def _complexity(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    limit = v.limits.max_complexity
    if a.complexity <= limit:
        return True, f"cyclomatic complexity {a.complexity} ≤ {limit}"
    return False, f"cyclomatic complexity {a.complexity} > {limit}: split its branches"


def _single_responsibility(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    summary = parse_contract(a.spec).summary if a.spec else ""
    m = _CONJUNCTION.search(summary)
    if m:
        return False, f"its summary joins two actions with {m.group(0).strip()!r}: {summary!r}"
    if f.callees > MAX_CALLEES:
        return False, f"it calls {f.callees} atoms (> {MAX_CALLEES}): it orchestrates too much"
    return True, "one action in its summary and a small set of dependencies"


def _has_test(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    if a.test_cases:
        n = len(a.test_cases)
        return True, f"{n} test case{'s' if n > 1 else ''}: {a.test_cases[0]}"
    if a.kind == "module":
        return True, "module-level statements run on import of the module"
    if a.kind == "statements" and f.inherited_tests:
        return True, "covered by the tests of the function it was split from"
    if a.kind == "class" and f.member_tests:
        return True, "its methods are tested"
    return False, "no test calls it"


def _typed_io(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    d = f.definition
    if a.kind not in ("function", "method") or d is None:
        return True, f"not applicable to a {a.kind}"
    untyped = [p.name for p in d.params if not p.annotation]
    if d.returns_required and not d.returns:
        untyped.append("return value")
    if untyped:
        return False, "untyped: " + ", ".join(untyped)
    return True, "every input and the output are typed"


def _no_hidden_global_state(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    d = f.definition
    if a.kind == "module":
        return True, "module-level statements define the module's state by design"
    if d is None or d.is_stub:
        m = _GLOBAL_WORDS.search(a.spec)
        if m:
            return False, f"its spec speaks of {m.group(0)!r}: pass the state in instead"
        return True, "no body yet and its spec names no global state"
    if d.assigns_outer:
        return False, "assigns names outside its scope: " + ", ".join(d.assigns_outer)
    mutated = sorted(set(d.mutates) & f.module_names - set(d.binds))
    if mutated:
        return False, "mutates module-level " + ", ".join(mutated)
    return True, "touches no global or module-level state"


def _deterministic(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    d = f.definition
    if d is None or d.is_stub:
        m = _TIME_WORDS.search(a.spec)
        params = [p.name for p in d.params] if d is not None else []
        if m and not any(_INJECTED.search(p) for p in params):
            return False, f"its spec needs {m.group(0)!r} but no parameter injects a clock/rng"
        return True, "its spec needs no clock or randomness (or takes them as parameters)"
    for call in d.calls:
        receiver = call.receiver or ""
        if (receiver, call.name) in NONDETERMINISTIC_CALLS or (receiver, "*") in (
            NONDETERMINISTIC_CALLS
        ):
            return False, f"calls {receiver}.{call.name}() (line {call.line}): inject it instead"
    return True, "calls no clock or random source"


def _dependencies_declared(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    if f.unresolved:
        return False, "names nothing defines: " + ", ".join(f.unresolved)
    undeclared = sorted(f.referenced_atoms - set(a.dependencies))
    if undeclared:
        return False, "refers to atoms not in its dependencies: " + ", ".join(undeclared)
    return True, f"{len(a.dependencies)} dependencies, all declared and defined"


def _context_complete(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    c = a.context
    if c.completeness >= v.context_target:
        return True, f"context completeness {c.completeness:.2f} ≥ {v.context_target:.2f}"
    gaps = "; ".join(c.missing[:3]) or "context not injected yet"
    return False, f"context completeness {c.completeness:.2f} < {v.context_target:.2f}: {gaps}"


def _one_file(a: AtomicUnit, f: AtomFacts, v: AtomicityValidator) -> tuple[bool, str]:
    if not a.file or "," in a.file:
        return False, f"not in exactly one file: {a.file!r}"
    try:
        language = GRAMMAR_LANGUAGE[grammar_for(a.file)]
    except InputError:
        return False, f"{a.file} is not a source file of a known language"
    if language != a.language:
        return False, f"{a.file} is {language}, the atom says {a.language}"
    return True, f"lives in {a.file}"


CRITERIA: tuple[Criterion, ...] = (
    Criterion("size", _size),
    Criterion("complexity", _complexity),
    Criterion("single_responsibility", _single_responsibility),
    Criterion("has_test", _has_test),
    Criterion("typed_io", _typed_io),
    Criterion("no_hidden_global_state", _no_hidden_global_state),
    Criterion("deterministic", _deterministic),
    Criterion("dependencies_declared", _dependencies_declared),
    Criterion("context_complete", _context_complete),
    Criterion("one_file", _one_file),
)


class AtomicityValidator:
    """Checks atoms against :data:`CRITERIA` (see the module docstring)."""

    def __init__(self, limits: Limits | None = None, context_target: float = CONTEXT_TARGET):
        self.limits = limits or Limits()
        self.context_target = context_target

    def check(
        self,
        atom: AtomicUnit,
        facts: AtomFacts | None = None,
        shared: dict[tuple[str, bool, str], CriterionResult] | None = None,
    ) -> AtomicityReport:
        """The report of one atom.

        ``shared`` lets a batch reuse one result object per distinct (criterion, verdict,
        reason) — most reasons repeat word for word, and 100,000 atoms would otherwise make a
        million objects. Shared results are values: never modify them in place.
        """
        facts = facts or AtomFacts()
        results = []
        for criterion in CRITERIA:
            passed, reason = criterion.check(atom, facts, self)
            key = (criterion.name, passed, reason)
            result = shared.get(key) if shared is not None else None
            if result is None:
                # built here from typed values: no need to validate them again
                result = CriterionResult.model_construct(
                    name=criterion.name, passed=passed, reason=reason
                )
                if shared is not None:
                    shared[key] = result
            results.append(result)
        return AtomicityReport.model_construct(atom_id=atom.id, criteria=results)

    def check_all(
        self, atomization: Atomization, atoms: Iterable[AtomicUnit] | None = None
    ) -> list[AtomicityReport]:
        """Reports for ``atoms`` (default: the atomization's), with the parser's facts."""
        chosen = list(atomization.atoms if atoms is None else atoms)
        shared: dict[tuple[str, bool, str], CriterionResult] = {}
        with collector_paused():
            facts = facts_for(atomization, chosen)
            return [self.check(a, facts.get(a.id), shared) for a in chosen]


def facts_for(atomization: Atomization, atoms: Iterable[AtomicUnit]) -> dict[str, AtomFacts]:
    """The parser's facts for each atom (see :class:`AtomFacts`)."""
    chosen = list(atoms)
    by_target = {(a.file, a.qualname): a.id for a in chosen}
    tested = {a.id for a in chosen if a.test_cases}
    by_id = {a.id: a for a in chosen}
    tested_parents = {o.parent for o in chosen if o.parent and o.id in tested}
    module_names: dict[str, frozenset[str]] = {}
    for path, pf in atomization.parsed.items():
        module_names[path] = frozenset(
            n for d in pf.definitions if d.kind == "module" for n in d.binds
        )
    out: dict[str, AtomFacts] = {}
    for a in chosen:
        path_def = atomization.definitions.get(a.id)
        d = path_def[1] if path_def else None
        refs = atomization.references.get(a.id, {})
        referenced = frozenset(
            aid for t in refs if (aid := by_target.get((t.file, t.qualname))) and aid != a.id
        )
        callees = sum(
            1
            for t, kind in refs.items()
            if kind == "call"
            and (aid := by_target.get((t.file, t.qualname)))
            and by_id[aid].parent != a.id
        )
        out[a.id] = AtomFacts(
            definition=d,
            unresolved=tuple(atomization.unresolved.get(a.id, ())),
            module_names=module_names.get(a.file, frozenset()),
            referenced_atoms=referenced,
            inherited_tests=_ancestor_tested(a, by_id, tested),
            member_tests=a.id in tested_parents,
            callees=callees,
        )
    return out


def _ancestor_tested(a: AtomicUnit, by_id: Mapping[str, AtomicUnit], tested: set[str]) -> bool:
    cur = a
    seen: set[str] = set()
    while cur.parent and cur.parent not in seen:
        seen.add(cur.parent)
        if cur.parent in tested:
            return True
        nxt = by_id.get(cur.parent)
        if nxt is None:
            return False
        cur = nxt
    return False
