"""Discovery's output: a domain-driven-design model of the requirements, and what was assumed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mge.models.base import WireModel


class FieldDef(WireModel):
    """A typed field of an entity, value object or event."""

    name: str = Field(min_length=1)
    type: str = Field(min_length=1, description="A type in the target language, e.g. `str`.")
    description: str = ""


class Entity(WireModel):
    """Something with identity and a lifecycle."""

    name: str = Field(min_length=1)
    fields: list[FieldDef] = Field(default_factory=list)
    invariants: list[str] = Field(default_factory=list)


class ValueObject(WireModel):
    """Something defined only by its values; immutable."""

    name: str = Field(min_length=1)
    fields: list[FieldDef] = Field(default_factory=list)
    invariants: list[str] = Field(default_factory=list)


class Aggregate(WireModel):
    """A consistency boundary around a root entity."""

    name: str = Field(min_length=1)
    root: str = Field(description="Name of the root entity.")
    members: list[str] = Field(default_factory=list)


class DomainService(WireModel):
    """Behaviour that belongs to no single entity."""

    name: str = Field(min_length=1)
    operations: list[str] = Field(default_factory=list, description="Signatures or verbs.")


class DomainEvent(WireModel):
    """Something that happened that other parts care about."""

    name: str = Field(min_length=1)
    fields: list[FieldDef] = Field(default_factory=list)


class BoundedContext(WireModel):
    """A part of the domain with its own language and model."""

    name: str = Field(min_length=1)
    description: str = ""
    entities: list[Entity] = Field(default_factory=list)
    value_objects: list[ValueObject] = Field(default_factory=list)
    aggregates: list[Aggregate] = Field(default_factory=list)
    services: list[DomainService] = Field(default_factory=list)
    events: list[DomainEvent] = Field(default_factory=list)


class DomainModel(WireModel):
    """All bounded contexts of the project."""

    contexts: list[BoundedContext] = Field(min_length=1)

    def element_names(self) -> list[str]:
        """Every entity, value object, service and event name, for coverage checks."""
        names: list[str] = []
        for c in self.contexts:
            names += [e.name for e in c.entities] + [v.name for v in c.value_objects]
            names += [s.name for s in c.services] + [e.name for e in c.events]
        return names


class TechChoice(WireModel):
    """One choice in the stack and why."""

    name: str
    reason: str


class TechStack(WireModel):
    """Language, framework, libraries, each with its reason."""

    language: Literal["python", "typescript", "javascript"]
    framework: str | None = None
    choices: list[TechChoice] = Field(default_factory=list)


class AcceptanceCriterion(WireModel):
    """A checkable statement of done."""

    id: str = Field(pattern=r"^AC-[0-9]+$")
    text: str = Field(min_length=1)


class Question(WireModel):
    """A clarifying question with the answer used if nobody gives one."""

    id: str = Field(pattern=r"^Q-[0-9]+$")
    text: str = Field(min_length=1)
    default: str = Field(description="Used when no answer is given; recorded as an assumption.")
    answer: str | None = Field(default=None, description="The answer given, if any.")

    @property
    def effective_answer(self) -> str:
        """The given answer, or the default."""
        return self.answer if self.answer is not None else self.default


class DiscoveryResult(WireModel):
    """Everything discovery learned."""

    summary: str = ""
    domain: DomainModel
    stack: TechStack
    acceptance: list[AcceptanceCriterion] = Field(min_length=1)
    assumptions: list[str] = Field(default_factory=list)
    questions: list[Question] = Field(default_factory=list)
