"""Which generated atoms form the next validation batches (pure).

Execution streams a level: every atom's generation starts at once (within the LLM concurrency
limit), and a validation batch is formed as soon as it is worth running instead of after the
whole level is generated. :func:`next_batches` is that decision, given

- ``ready``: generated attempts waiting for validation, in the order they became ready;
- ``generating``: atom id → attempt number of the generations still outstanding in the level;
- ``wave_of``: atom id → the wave its current attempt was started in (the level's first
  attempts are one wave; the retries started when one batch's result came in are another);
- ``waited``: seconds each ready attempt has waited so far, and ``linger_s``, the longest it
  waits for its peers;
- ``planned``: batches recorded by an earlier process for this level (see below);
- ``batch_size`` and the sandbox slots free right now.

The rules, in order:

1. **A recorded batch is formed again, exactly.** A batch is written to the journal before it
   is validated. After a restart the same attempts come back with the same code (from the
   response cache), so re-forming the recorded batch gives the same content and therefore the
   same deterministic Job name: the operator finds the Job it made before instead of making a
   second one. A recorded batch counts while each member is ready or still being generated with
   the recorded attempt number; its ready members wait for the rest. Once a member settled some
   other way (no code, budget stop, a fatal error) the record is dead and its members are free.
2. **A full batch** (``batch_size`` free ready attempts) is formed at once.
3. **A wave's tail, or the linger**: a ready attempt is due when its wave has no generation
   outstanding any more (the attempts started together with it are all in), or when it has
   waited ``linger_s``; the batch then takes every ready attempt (fewer than ``batch_size``), due
   or not. A ready attempt never waits for work started after it (a retry wave), and for
   its own peers only up to the linger: waiting longer would save sandbox runs but put the
   wait on the critical path of the level.

Batches are only formed for free sandbox slots: while every slot is busy, ready attempts wait
and the batch that starts when a slot frees is as full as it can be. An attempt that fails
validation is generated again as soon as its own batch's result is in; its next attempt joins
whichever batch forms next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Member = tuple[str, int]
"""One attempt in a batch: (atom id, attempt number)."""


def next_batches(
    ready: Sequence[Member],
    generating: Mapping[str, int],
    planned: Sequence[Sequence[Member]],
    batch_size: int,
    free_slots: int,
    wave_of: Mapping[str, int] | None = None,
    waited: Mapping[Member, float] | None = None,
    linger_s: float = float("inf"),
) -> list[list[Member]]:
    """The batches to validate now, at most ``free_slots`` of them (see module docstring)."""
    out: list[list[Member]] = []
    ready_set = set(ready)
    held: set[Member] = set()
    for record in planned:
        members = list(dict.fromkeys(record))
        if not members or any(m in held for m in members):
            continue
        live = all(m in ready_set or generating.get(m[0]) == m[1] for m in members)
        if not live:
            continue
        held.update(members)
        if len(out) < free_slots and all(m in ready_set for m in members):
            out.append(members)
    free = [m for m in ready if m not in held]
    waves = wave_of or {}
    busy = {waves.get(a, 0) for a in generating}
    age = waited or {}
    size = max(1, batch_size)
    while free and len(out) < free_slots:
        if len(free) < size and not any(
            waves.get(a, 0) not in busy or age.get((a, n), 0.0) >= linger_s for a, n in free
        ):
            break
        out.append(free[:size])
        free = free[size:]
    return out


def slot_order(heads: Mapping[int, int]) -> list[int]:
    """The levels in the order they take free sandbox slots (dependency-ready dispatch, where
    several levels wait at once): ``heads`` maps each level with ready attempts to the longest
    chain of dependents one of them heads; the longest first, ties to the lower level. The
    critical path gets the slots, as it gets the generation slots."""
    return sorted(heads, key=lambda k: (-heads[k], k))
