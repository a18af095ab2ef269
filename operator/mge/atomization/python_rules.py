"""Python syntax for the parser driver (tree-sitter-python).

Cyclomatic complexity follows radon's rules so that radon can serve as an independent oracle:
1 + one per ``if``/``elif``/conditional expression, loop (``for``/``while``, plus one for a loop
``else``), ``except`` handler (plus one for a ``try … else``), boolean operator (``a and b or
c`` counts two), comprehension ``for`` and ``if``, ``assert`` (nothing inside it), and each
``case`` of a ``match`` except one irrefutable ``case _``/``case name``. ``with``, lambdas
and match guards add nothing; nested functions and classes count for themselves, not for
their parent.
"""

from __future__ import annotations

import inspect
import re
from pathlib import PurePosixPath

from tree_sitter import Node, QueryCursor

from mge.atomization.languages import Grammar, compiled_query
from mge.atomization.nodes import (
    fill_names,
    in_test_dir,
    name_calls,
    node_text,
    one_line,
)
from mge.atomization.rules import RawDef, References
from mge.atomization.syntax import CallRef, ImportRef, Param

DEFINITIONS_QUERY = "(function_definition) @function (class_definition) @class"

DECISIONS_QUERY = """
[(if_statement) (elif_clause) (conditional_expression) (for_statement) (while_statement)
 (except_clause) (boolean_operator) (for_in_clause) (if_clause) (assert_statement)] @dp
(for_statement (else_clause) @dp)
(while_statement (else_clause) @dp)
(try_statement (else_clause) @dp)
(match_statement) @match
"""

REFERENCES_QUERY = """
(call function: (identifier) @call.name)
(call function: (attribute) @call.attr)
(type) @type
(identifier) @id
(attribute attribute: (identifier) @nonread)
(keyword_argument name: (identifier) @nonread)
(function_definition name: (identifier) @nonread)
(class_definition name: (identifier) @nonread)
(dotted_name (identifier) @nonread)
(aliased_import alias: (identifier) @nonread)
(assignment left: (identifier) @bind)
(assignment left: (pattern_list (identifier) @bind))
(assignment left: (tuple_pattern (identifier) @bind))
(assignment left: (list_pattern (identifier) @bind))
(augmented_assignment left: (identifier) @bind)
(for_statement left: (identifier) @bind)
(for_statement left: (pattern_list (identifier) @bind))
(for_statement left: (tuple_pattern (identifier) @bind))
(for_in_clause left: (identifier) @bind)
(for_in_clause left: (pattern_list (identifier) @bind))
(named_expression name: (identifier) @bind)
(as_pattern_target (identifier) @bind)
(as_pattern_target (tuple (identifier) @bind))
(parameters (identifier) @bind)
(lambda_parameters (identifier) @bind)
(typed_parameter (identifier) @bind)
(default_parameter name: (identifier) @bind)
(typed_default_parameter name: (identifier) @bind)
(list_splat_pattern (identifier) @bind)
(dictionary_splat_pattern (identifier) @bind)
(global_statement (identifier) @outer)
(nonlocal_statement (identifier) @outer)
(assignment left: (subscript value: (identifier) @mut))
(assignment left: (attribute object: (identifier) @mut))
(augmented_assignment left: (subscript value: (identifier) @mut))
(augmented_assignment left: (attribute object: (identifier) @mut))
(delete_statement (subscript value: (identifier) @mut))
"""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_DEFINITION_TYPES = frozenset({"function_definition", "class_definition", "decorated_definition"})
_IMPORT_TYPES = frozenset({"import_statement", "import_from_statement", "future_import_statement"})
_CLAUSES = frozenset(
    {"elif_clause", "else_clause", "except_clause", "finally_clause", "case_clause"}
)
_TEST_DIRS = frozenset({"tests", "test"})


def type_names(text: str) -> list[str]:
    """Names in an annotation, including those inside string forward references."""
    return _NAME.findall(text)


def _string_value(node: Node) -> str:
    """The text between a string literal's quotes, dedented like a docstring."""
    start = node.child(0)
    end = node.child(node.child_count - 1)
    if start is None or end is None or node.text is None:
        return ""
    raw = node.text[start.end_byte - node.start_byte : end.start_byte - node.start_byte]
    return inspect.cleandoc(raw.decode("utf-8", "replace"))


def _is_docstring(node: Node) -> bool:
    return (
        node.type == "expression_statement"
        and node.named_child_count == 1
        and node.named_children[0].type == "string"
    )


def _statements(block: Node | None) -> list[Node]:
    if block is None:
        return []
    return [c for c in block.named_children if c.type != "comment"]


class PythonRules:
    """Python syntax (see the module docstring for the complexity rules)."""

    grammar: Grammar = "python"
    comment_prefixes: tuple[str, ...] = ("#",)
    header_decisions: bool = False
    """Python counts the body only, as radon (this project's reference measure) does."""

    def definitions(self, root: Node) -> list[RawDef]:
        """Every function and class, with decorators as part of its extent."""
        caps = QueryCursor(compiled_query(self.grammar, DEFINITIONS_QUERY)).captures(root)
        found = []
        for capture, kind in (("function", "function"), ("class", "class")):
            for node in caps.get(capture, []):
                parent = node.parent
                outer = parent if parent and parent.type == "decorated_definition" else node
                found.append(
                    RawDef(
                        node=node,
                        outer=outer,
                        kind="function" if kind == "function" else "class",
                        name=node_text(node.child_by_field_name("name")),
                        body=node.child_by_field_name("body"),
                    )
                )
        return found

    def docstring(self, raw: RawDef) -> tuple[str, Node | None]:
        """The first statement of the body when it is a string literal."""
        stmts = _statements(raw.body)
        if stmts and _is_docstring(stmts[0]):
            return _string_value(stmts[0].named_children[0]), stmts[0]
        return "", None

    def signature(self, raw: RawDef, src: bytes) -> str:
        """``def name(params) -> ret`` / ``class Name(bases)``, on one line."""
        end = raw.body.start_byte if raw.body is not None else raw.node.end_byte
        header = src[raw.node.start_byte : end].decode("utf-8", "replace").rstrip()
        return one_line(header.removesuffix(":").rstrip())

    def params(self, raw: RawDef, is_method: bool) -> tuple[Param, ...]:
        """Parameters with annotations; a method's first ``self``/``cls`` is left out."""
        node = raw.node.child_by_field_name("parameters")
        if node is None:
            return ()
        out: list[Param] = []
        for p in node.named_children:
            if p.type == "identifier" or p.type in (
                "list_splat_pattern",
                "dictionary_splat_pattern",
            ):
                out.append(Param(node_text(p), None))
            elif p.type == "default_parameter":
                out.append(Param(node_text(p.child_by_field_name("name")), None))
            elif p.type == "typed_default_parameter":
                ann = node_text(p.child_by_field_name("type"))
                out.append(Param(node_text(p.child_by_field_name("name")), ann))
            elif p.type == "typed_parameter":
                ann = node_text(p.child_by_field_name("type"))
                out.append(Param(node_text(p.named_children[0]), ann))
        if is_method and out and out[0].name in ("self", "cls") and out[0].annotation is None:
            out = out[1:]
        return tuple(out)

    def returns(self, raw: RawDef) -> str | None:
        """The ``-> T`` annotation."""
        node = raw.node.child_by_field_name("return_type")
        return node_text(node) if node is not None else None

    def decorators(self, raw: RawDef) -> tuple[str, ...]:
        """Decorators of a decorated definition."""
        if raw.outer is raw.node:
            return ()
        return tuple(
            node_text(c).lstrip("@").strip()
            for c in raw.outer.named_children
            if c.type == "decorator"
        )

    def bases(self, raw: RawDef) -> tuple[str, ...]:
        """Positional superclass expressions (keywords like ``metaclass=`` left out)."""
        node = raw.node.child_by_field_name("superclasses")
        if node is None:
            return ()
        return tuple(node_text(c) for c in node.named_children if c.type != "keyword_argument")

    def is_stub(self, raw: RawDef) -> bool:
        """A body of only ``...``, ``pass`` or ``raise NotImplementedError`` (after a docstring)."""
        if raw.kind != "function":
            return False
        stmts = _statements(raw.body)
        if stmts and _is_docstring(stmts[0]):
            stmts = stmts[1:]
        for s in stmts:
            if s.type == "pass_statement":
                continue
            if s.type == "expression_statement" and node_text(s).strip() == "...":
                continue
            if s.type == "raise_statement" and "NotImplementedError" in node_text(s):
                continue
            return False
        return True

    def own_statements(self, raw: RawDef) -> list[Node]:
        """Body statements without the docstring."""
        stmts = _statements(raw.body)
        if stmts and _is_docstring(stmts[0]):
            stmts = stmts[1:]
        return stmts

    def module_statements(self, root: Node) -> list[Node]:
        """Top-level statements without the module docstring."""
        stmts = _statements(root)
        if stmts and _is_docstring(stmts[0]):
            stmts = stmts[1:]
        return stmts

    def module_docstring(self, root: Node) -> str:
        """The module docstring."""
        stmts = _statements(root)
        if stmts and _is_docstring(stmts[0]):
            return _string_value(stmts[0].named_children[0])
        return ""

    def is_definition(self, node: Node) -> bool:
        """def, class and their decorated forms."""
        return node.type in _DEFINITION_TYPES

    def is_import(self, node: Node) -> bool:
        """``import``/``from … import``."""
        return node.type in _IMPORT_TYPES

    def blocks(self, node: Node) -> list[list[Node]]:
        """Blocks of compound statements: bodies, elif/else/except/finally clauses, match cases."""
        out: list[list[Node]] = []
        for child in node.named_children:
            if child.type == "block":
                if node.type == "match_statement":
                    for case in child.named_children:
                        out.extend(self.blocks(case))
                else:
                    out.append(_statements(child))
            elif child.type in _CLAUSES:
                out.extend(self.blocks(child))
        return out

    def decision_points(self, root: Node) -> list[int]:
        """Positions of radon's decision points (see the module docstring)."""
        caps = QueryCursor(compiled_query(self.grammar, DECISIONS_QUERY)).captures(root)
        points = []
        asserts: list[tuple[int, int]] = []
        for node in caps.get("dp", []):
            parent = node.parent
            if node.type == "if_clause" and parent is not None and parent.type == "case_clause":
                continue
            if node.type == "assert_statement":
                asserts.append((node.start_byte, node.end_byte))
            points.append(node.start_byte)
        if asserts:
            # radon counts an assert as one and does not look inside it
            points = [p for p in points if not any(a < p < b for a, b in asserts)]
        for match in caps.get("match", []):
            cases = [
                case
                for block in match.named_children
                if block.type == "block"
                for case in block.named_children
                if case.type == "case_clause"
            ]
            irrefutable = any(_irrefutable(case) for case in cases)
            points.extend(c.start_byte for c in cases[: len(cases) - irrefutable])
        points.sort()
        return points

    def references(self, root: Node) -> References:
        """Calls, annotations, names read and bound, mutations, global declarations."""
        caps = QueryCursor(compiled_query(self.grammar, REFERENCES_QUERY)).captures(root)
        refs = References()
        name_calls(refs, caps.get("call.name", []))
        for node in caps.get("call.attr", []):
            obj = node.child_by_field_name("object")
            attr = node.child_by_field_name("attribute")
            simple = obj is not None and obj.type in ("identifier", "attribute")
            receiver = node_text(obj) if simple else "?"
            refs.calls.append(
                (node.start_byte, CallRef(node_text(attr), receiver, node.start_point[0] + 1))
            )
        for node in caps.get("type", []):
            refs.types.extend((node.start_byte, n) for n in type_names(node_text(node)))
        fill_names(refs, caps, outer="outer")
        return refs

    def imports(self, root: Node) -> list[tuple[int, ImportRef]]:
        """``import a.b [as c]`` and ``from [.]m import x [as y]`` anywhere in the file."""
        caps = QueryCursor(
            compiled_query(self.grammar, "[(import_statement) (import_from_statement)] @imp")
        ).captures(root)
        out: list[tuple[int, ImportRef]] = []
        for node in caps.get("imp", []):
            line = node.start_point[0] + 1
            type_only = _under_type_checking(node)
            if node.type == "import_statement":
                for item in node.named_children:
                    if item.type == "aliased_import":
                        module = node_text(item.child_by_field_name("name"))
                        alias = node_text(item.child_by_field_name("alias"))
                    else:
                        module = node_text(item)
                        alias = module.split(".")[0]
                    ref = ImportRef(alias, module, None, line, type_only=type_only)
                    out.append((node.start_byte, ref))
                continue
            mod_node = node.child_by_field_name("module_name")
            level, module = 0, node_text(mod_node)
            if mod_node is not None and mod_node.type == "relative_import":
                parts = {c.type: c for c in mod_node.named_children}
                level = node_text(parts.get("import_prefix")).count(".")
                module = node_text(parts.get("dotted_name"))
            if any(c.type == "wildcard_import" for c in node.named_children):
                star = ImportRef("*", module, None, line, level=level, type_only=type_only)
                out.append((node.start_byte, star))
            for item in node.children_by_field_name("name"):
                if item.type == "aliased_import":
                    name = node_text(item.child_by_field_name("name"))
                    alias = node_text(item.child_by_field_name("alias"))
                else:
                    name = alias = node_text(item)
                ref = ImportRef(alias, module, name, line, level=level, type_only=type_only)
                out.append((node.start_byte, ref))
        return out

    def is_test_file(self, path: str) -> bool:
        """pytest's conventions: ``test_*.py``, ``*_test.py``, ``conftest.py``, a ``tests/`` dir."""
        name = PurePosixPath(path).name
        if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
            return True
        return in_test_dir(path, _TEST_DIRS)

    def is_test_definition(self, raw: RawDef, parents: tuple[RawDef, ...]) -> bool:
        """``test*`` functions at top level or in a ``Test*`` class."""
        if raw.kind != "function" or not raw.name.startswith("test"):
            return False
        if not parents:
            return True
        return (
            len(parents) == 1 and parents[0].kind == "class" and parents[0].name.startswith("Test")
        )


def _irrefutable(case: Node) -> bool:
    """``case _:`` or ``case name:`` — radon's 'else' of a match."""
    for child in case.named_children:
        if child.type == "case_pattern":
            if child.named_child_count == 0:
                return node_text(child).strip() == "_"
            only = child.named_children[0]
            return (
                child.named_child_count == 1
                and only.type == "dotted_name"
                and only.named_child_count == 1
            )
    return False


def _under_type_checking(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type == "if_statement":
            cond = parent.child_by_field_name("condition")
            if cond is not None and node_text(cond).endswith("TYPE_CHECKING"):
                return True
        if parent.type in ("function_definition", "class_definition"):
            return False
        parent = parent.parent
    return False
