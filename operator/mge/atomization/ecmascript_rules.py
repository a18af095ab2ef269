"""TypeScript, TSX and JavaScript syntax for the parser driver (one rule set, three grammars).

Definitions: function declarations (nested ones too), classes and their methods, module-level
``const f = (…) => {…}`` / ``function`` expressions, and in TypeScript interfaces, type aliases and
enums (kind ``class``: they are types). In test files, each ``it(…)``/``test(…)`` call is a test
case named by its label and the labels of the ``describe(…)`` calls around it.

Cyclomatic complexity: 1 + one per ``if``, ``for``/``for…in``/``for…of``, ``while``,
``do…while``, ``catch``, ``case`` (not ``default``), ternary ``?:``, and ``&&``, ``||``, ``??``
(also their assignment forms). Arrow functions and function expressions inside a body count with
that body. Decision points in a definition's header count for it too: parameter defaults (also
destructured ones and constructor parameter properties), a class's ``extends`` expression, its
decorators and computed member names. In TypeScript the grammar places a member's decorators
beside the member in the class body, so they count for the class.

A stub body is ``{ throw new Error("TODO") }`` (any message containing "TODO" or "not
implemented").
"""

from __future__ import annotations

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
from mge.atomization.rules import RawDef, RawKind, References
from mge.atomization.syntax import CallRef, ImportRef, Param

_COMMON_DEFINITIONS = """
(function_declaration) @function
(generator_function_declaration) @function
(class_declaration) @class
(method_definition) @method
(lexical_declaration (variable_declarator value: [(arrow_function) (function_expression)])) @arrow
(variable_declaration (variable_declarator value: [(arrow_function) (function_expression)])) @arrow
(export_statement value: [(function_expression) (arrow_function)] @default)
(call_expression function: (identifier) @test.fn) @test
"""
_TS_DEFINITIONS = """
(abstract_class_declaration) @class
(interface_declaration) @type
(type_alias_declaration) @type
(enum_declaration) @type
"""

DECISIONS_QUERY = """
[(if_statement) (for_statement) (for_in_statement) (while_statement) (do_statement)
 (catch_clause) (ternary_expression) (switch_case)] @dp
(binary_expression operator: ["&&" "||" "??"] @dp)
(augmented_assignment_expression operator: ["&&=" "||=" "??="] @dp)
"""

_COMMON_REFERENCES = """
(call_expression function: (identifier) @call.name)
(call_expression function: (member_expression) @call.member)
(new_expression constructor: (identifier) @new.name)
(new_expression constructor: (member_expression) @new.member)
(identifier) @id
(variable_declarator name: (identifier) @bind)
(rest_pattern (identifier) @bind)
(arrow_function parameter: (identifier) @bind)
(catch_clause parameter: (identifier) @bind)
(for_in_statement left: (identifier) @bind)
(shorthand_property_identifier_pattern) @bind
(pair_pattern value: (identifier) @bind)
(array_pattern (identifier) @bind)
(assignment_pattern left: (identifier) @bind)
(function_declaration name: (identifier) @nonread)
(import_specifier (identifier) @nonread)
(import_clause (identifier) @nonread)
(namespace_import (identifier) @nonread)
(assignment_expression left: (identifier) @assign)
(augmented_assignment_expression left: (identifier) @assign)
(update_expression argument: (identifier) @assign)
(assignment_expression left: (member_expression object: (identifier) @mut))
(assignment_expression left: (subscript_expression object: (identifier) @mut))
(augmented_assignment_expression left: (member_expression object: (identifier) @mut))
(augmented_assignment_expression left: (subscript_expression object: (identifier) @mut))
"""
_JS_REFERENCES = """
(formal_parameters (identifier) @bind)
(class_declaration name: (identifier) @nonread)
"""
_TS_REFERENCES = """
(required_parameter pattern: (identifier) @bind)
(optional_parameter pattern: (identifier) @bind)
(type_identifier) @type
(nested_type_identifier) @type
(extends_clause value: (_) @type)
(interface_declaration name: (type_identifier) @nontype)
(class_declaration name: (type_identifier) @nontype)
(abstract_class_declaration name: (type_identifier) @nontype)
(type_alias_declaration name: (type_identifier) @nontype)
(type_parameter name: (type_identifier) @nontype)
"""

IMPORTS_QUERY = """
(import_statement) @import
(export_statement source: (string)) @reexport
(variable_declarator
  name: (_) @require.binding
  value: (call_expression
    function: (identifier) @require.fn
    arguments: (arguments . (string) @require.source)))
"""

TEST_FUNCTIONS = frozenset({"it", "test"})
SUITE_FUNCTIONS = frozenset({"describe", "suite"})
_STUB_MESSAGE = re.compile(r"todo|not implemented", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)*")
_JSDOC_PARAM = re.compile(r"@param\s+\{([^}]*)\}\s*\[?([A-Za-z_$][\w$]*)")
_JSDOC_RETURNS = re.compile(r"@returns?\s+\{([^}]*)\}")
_JSDOC_TYPE = re.compile(r"\{([^}]*)\}")
_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression"})
_DEFINITION_TYPES = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "method_definition",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
    }
)
_TEST_DIRS = frozenset({"__tests__", "tests", "test"})
#: Opening and closing brackets for one_line: TS adds object/type-literal braces and generics.
_BRACKETS = ("([{<", ")]}>")


def clean_jsdoc(comment: str) -> str:
    """The text of a ``/** … */`` comment without its delimiters and leading stars."""
    body = comment.strip().removeprefix("/**").removesuffix("*/")
    lines = [re.sub(r"^\s*\*?\s?", "", line) for line in body.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(line.rstrip() for line in lines)


def _string_label(node: Node) -> str | None:
    if node.type not in ("string", "template_string"):
        return None
    return "".join(node_text(c) for c in node.named_children if c.type == "string_fragment")


def _is_stub_block(block: Node | None) -> bool:
    if block is None or block.type != "statement_block":
        return False
    stmts = [c for c in block.named_children if c.type != "comment"]
    if len(stmts) != 1 or stmts[0].type != "throw_statement":
        return False
    thrown = stmts[0].named_children[0] if stmts[0].named_child_count else None
    if thrown is None or thrown.type != "new_expression":
        return False
    return _STUB_MESSAGE.search(node_text(thrown.child_by_field_name("arguments"))) is not None


class EcmaScriptRules:
    """TypeScript/TSX/JavaScript syntax (see the module docstring)."""

    def __init__(self, grammar: Grammar) -> None:
        self.grammar: Grammar = grammar
        self.comment_prefixes: tuple[str, ...] = ("//", "/*", "*")
        # A default `v = a || b`, a decorator argument, `extends (c ? A : B)` or a computed
        # name `[a ?? b]()` is a branch the definition's code takes: it counts for it.
        self.header_decisions = True
        self.typed = grammar in ("typescript", "tsx")
        self._definitions = _COMMON_DEFINITIONS + (_TS_DEFINITIONS if self.typed else "")
        self._references = _COMMON_REFERENCES + (_TS_REFERENCES if self.typed else _JS_REFERENCES)

    # -- definitions ------------------------------------------------------------------------

    def definitions(self, root: Node) -> list[RawDef]:
        """Functions, classes, methods, module-level function constants, types and test cases."""
        caps = QueryCursor(compiled_query(self.grammar, self._definitions)).captures(root)
        found: list[RawDef] = []
        for node in caps.get("function", []):
            found.append(self._raw(node, "function", node_text(node.child_by_field_name("name"))))
        for node in caps.get("class", []):
            found.append(self._raw(node, "class", node_text(node.child_by_field_name("name"))))
        for node in caps.get("type", []):
            found.append(self._raw(node, "type", node_text(node.child_by_field_name("name"))))
        for node in caps.get("method", []):
            if node.parent is not None and node.parent.type == "class_body":
                found.append(
                    self._raw(node, "function", node_text(node.child_by_field_name("name")))
                )
        for node in caps.get("arrow", []):
            raw = self._arrow(node)
            if raw is not None:
                found.append(raw)
        for node in caps.get("default", []):
            if node.child_by_field_name("name") is None:
                found.append(self._raw(node, "function", "default"))
        for node in caps.get("test", []):
            raw = self._test(node)
            if raw is not None:
                found.append(raw)
        return found

    def _raw(self, node: Node, kind: RawKind, name: str) -> RawDef:
        parent = node.parent
        outer = parent if parent is not None and parent.type == "export_statement" else node
        if kind == "type":
            body = node.child_by_field_name("body") or node.child_by_field_name("value")
        else:
            body = node.child_by_field_name("body")
        return RawDef(node=node, outer=outer, kind=kind, name=name or "default", body=body)

    def _arrow(self, decl: Node) -> RawDef | None:
        """``const f = (…) => …`` at module level (one declarator only)."""
        parent = decl.parent
        at_top = parent is not None and (
            parent.type == "program"
            or (
                parent.type == "export_statement"
                and parent.parent is not None
                and parent.parent.type == "program"
            )
        )
        declarators = [c for c in decl.named_children if c.type == "variable_declarator"]
        if not at_top or len(declarators) != 1:
            return None
        value = declarators[0].child_by_field_name("value")
        if value is None or value.type not in _FUNCTION_VALUES:
            return None
        outer = parent if parent is not None and parent.type == "export_statement" else decl
        return RawDef(
            node=value,
            outer=outer,
            kind="function",
            name=node_text(declarators[0].child_by_field_name("name")),
            body=value.child_by_field_name("body"),
        )

    def _test(self, call: Node) -> RawDef | None:
        fn = call.child_by_field_name("function")
        if node_text(fn) not in TEST_FUNCTIONS:
            return None
        args = call.child_by_field_name("arguments")
        if args is None or args.named_child_count < 2:
            return None
        label = _string_label(args.named_children[0])
        callback = args.named_children[1]
        if label is None or callback.type not in _FUNCTION_VALUES:
            return None
        scope: list[str] = []
        node = call.parent
        while node is not None:
            is_call = node.type == "call_expression"
            if is_call and node_text(node.child_by_field_name("function")) in SUITE_FUNCTIONS:
                suite_args = node.child_by_field_name("arguments")
                if suite_args is not None and suite_args.named_child_count:
                    suite = _string_label(suite_args.named_children[0])
                    if suite is not None:
                        scope.append(suite)
            node = node.parent
        return RawDef(
            node=callback,
            outer=call,
            kind="test",
            name=label,
            body=callback.child_by_field_name("body"),
            label_scope=tuple(reversed(scope)),
        )

    # -- facts about one definition ---------------------------------------------------------

    def docstring(self, raw: RawDef) -> tuple[str, Node | None]:
        """The JSDoc comment right above the definition (or its ``export``)."""
        prev = raw.outer.prev_named_sibling
        if prev is None or prev.type != "comment":
            return "", None
        text = node_text(prev)
        if not text.startswith("/**") or prev.end_point[0] < raw.outer.start_point[0] - 1:
            return "", None
        return clean_jsdoc(text), prev

    def module_docstring(self, root: Node) -> str:
        """A leading ``/** … */`` block not attached to the first declaration."""
        first = root.named_children[0] if root.named_child_count else None
        if first is None or first.type != "comment" or not node_text(first).startswith("/**"):
            return ""
        nxt = first.next_named_sibling
        if nxt is not None and nxt.start_point[0] <= first.end_point[0] + 1:
            return ""
        return clean_jsdoc(node_text(first))

    def signature(self, raw: RawDef, src: bytes) -> str:
        """The header up to the body, on one line (``export`` kept, decorators dropped)."""
        if raw.kind == "type" and raw.node.type == "type_alias_declaration":
            return one_line(node_text(raw.outer), *_BRACKETS).removesuffix(";")
        start = raw.outer.start_byte
        for child in raw.outer.children:
            if child.type != "decorator":
                start = child.start_byte
                break
        end = raw.body.start_byte if raw.body is not None else raw.outer.end_byte
        header = src[start:end].decode("utf-8", "replace")
        return (
            one_line(header, *_BRACKETS).rstrip("=> ").rstrip()
            if raw.node.type == "arrow_function"
            and (raw.body is not None and raw.body.type != "statement_block")
            else one_line(header, *_BRACKETS)
        )

    def params(self, raw: RawDef, is_method: bool) -> tuple[Param, ...]:
        """Parameters with TypeScript annotations, or JSDoc ``@param {T} name`` in JavaScript."""
        node = raw.node.child_by_field_name("parameters")
        single = raw.node.child_by_field_name("parameter")
        if node is None and single is None:
            return ()
        jsdoc_types: dict[str, str] = {}
        if not self.typed:
            doc, _ = self.docstring(raw)
            jsdoc_types = {name: t.strip() for t, name in _JSDOC_PARAM.findall(doc)}
        params: list[Param] = []
        items = node.named_children if node is not None else [single]
        for p in items:
            if p is None or p.type == "comment":
                continue
            if p.type in ("required_parameter", "optional_parameter"):
                pattern = p.child_by_field_name("pattern")
                name = node_text(pattern)
                if name == "this":
                    continue
                ann = p.child_by_field_name("type")
                params.append(Param(name, node_text(ann).lstrip(":").strip() if ann else None))
                continue
            target = p.child_by_field_name("left") if p.type == "assignment_pattern" else p
            name = node_text(target).lstrip(".")
            params.append(Param(name, jsdoc_types.get(name)))
        return tuple(params)

    def returns(self, raw: RawDef) -> str | None:
        """The return annotation, or JSDoc ``@returns {T}`` in JavaScript."""
        node = raw.node.child_by_field_name("return_type")
        if node is not None:
            return node_text(node).lstrip(":").strip()
        if not self.typed:
            doc, _ = self.docstring(raw)
            m = _JSDOC_RETURNS.search(doc)
            if m:
                return m.group(1).strip()
        return None

    def decorators(self, raw: RawDef) -> tuple[str, ...]:
        """Decorators on a class or method."""
        found = [c for c in raw.node.children if c.type == "decorator"]
        if raw.outer is not raw.node:
            found += [c for c in raw.outer.children if c.type == "decorator"]
        return tuple(node_text(c).lstrip("@").strip() for c in found)

    def bases(self, raw: RawDef) -> tuple[str, ...]:
        """Names after ``extends`` and ``implements``."""
        out: list[str] = []
        for child in raw.node.named_children:
            if child.type in ("class_heritage", "extends_type_clause", "extends_clause"):
                text = re.sub(r"\b(extends|implements)\b", " ", node_text(child))
                out.extend(_NAME.findall(re.sub(r"<[^>]*>", "", text)))
        return tuple(out)

    def is_stub(self, raw: RawDef) -> bool:
        """``{ throw new Error("TODO") }``."""
        return raw.kind == "function" and _is_stub_block(raw.body)

    def own_statements(self, raw: RawDef) -> list[Node]:
        """Statements of the body; class members; interface members; an arrow's expression."""
        body = raw.body
        if body is None:
            return []
        if raw.kind == "type" and raw.node.type == "type_alias_declaration":
            return [body]
        if body.type in (
            "statement_block",
            "class_body",
            "interface_body",
            "object_type",
            "enum_body",
        ):
            return [c for c in body.named_children if c.type != "comment"]
        return [body]

    def module_statements(self, root: Node) -> list[Node]:
        """Top-level statements without comments."""
        return [c for c in root.named_children if c.type not in ("comment", "hash_bang_line")]

    def is_definition(self, node: Node) -> bool:
        """A declaration that is its own unit (also when exported)."""
        if node.type == "export_statement":
            decl = node.child_by_field_name("declaration")
            if decl is not None:
                node = decl
            else:
                value = node.child_by_field_name("value")
                return value is not None and value.type in _FUNCTION_VALUES
        if node.type in _DEFINITION_TYPES:
            return True
        if node.type in ("lexical_declaration", "variable_declaration"):
            decls = [c for c in node.named_children if c.type == "variable_declarator"]
            if len(decls) == 1:
                value = decls[0].child_by_field_name("value")
                return (
                    value is not None
                    and value.type in _FUNCTION_VALUES
                    and (
                        node.parent is not None
                        and node.parent.type in ("program", "export_statement")
                    )
                )
        return False

    def is_import(self, node: Node) -> bool:
        """``import …`` statements."""
        return node.type == "import_statement"

    def blocks(self, node: Node) -> list[list[Node]]:
        """Bodies of compound statements: branches, loop bodies, try/catch/finally, cases."""
        out: list[list[Node]] = []
        for child in node.named_children:
            if child.type == "statement_block":
                out.append([c for c in child.named_children if c.type != "comment"])
            elif child.type in ("else_clause", "finally_clause", "catch_clause"):
                out.extend(self.blocks(child))
                inner = [c for c in child.named_children if c.type.endswith("statement")]
                if child.type == "else_clause" and inner:
                    out.append(inner)
            elif child.type == "switch_body":
                for case in child.named_children:
                    stmts = [
                        c
                        for c in case.named_children
                        if c.type.endswith("statement") or c.type.endswith("declaration")
                    ]
                    if stmts:
                        out.append(stmts)
            elif (
                child.type.endswith("statement")
                and node.type
                in (
                    "for_statement",
                    "for_in_statement",
                    "while_statement",
                    "do_statement",
                    "if_statement",
                )
                and child.type != "expression_statement"
            ):
                out.append([child])
        return out

    # -- whole-file facts -------------------------------------------------------------------

    def decision_points(self, root: Node) -> list[int]:
        """Positions of decision points (see the module docstring)."""
        caps = QueryCursor(compiled_query(self.grammar, DECISIONS_QUERY)).captures(root)
        return sorted(n.start_byte for n in caps.get("dp", []))

    def references(self, root: Node) -> References:
        """Calls (also ``new``), type names, reads, declarations, assignments, mutations."""
        caps = QueryCursor(compiled_query(self.grammar, self._references)).captures(root)
        refs = References(outer_needs_undeclared=True)
        name_calls(refs, caps.get("call.name", []))
        for node in caps.get("new.name", []):
            call = CallRef(node_text(node), None, node.start_point[0] + 1, constructor=True)
            refs.calls.append((node.start_byte, call))
        for capture, constructor in (("call.member", False), ("new.member", True)):
            for node in caps.get(capture, []):
                obj = node.child_by_field_name("object")
                prop = node.child_by_field_name("property")
                simple = obj is not None and obj.type in ("identifier", "this", "member_expression")
                receiver = node_text(obj) if simple else "?"
                call = CallRef(node_text(prop), receiver, node.start_point[0] + 1, constructor)
                refs.calls.append((node.start_byte, call))
        skip_types = {n.start_byte for n in caps.get("nontype", [])}
        for node in caps.get("type", []):
            if node.start_byte not in skip_types:
                refs.types.extend((node.start_byte, n) for n in _NAME.findall(node_text(node)))
        fill_names(refs, caps, outer="assign")
        if not self.typed:
            for node in (
                QueryCursor(compiled_query(self.grammar, "(comment) @c"))
                .captures(root)
                .get("c", [])
            ):
                text = node_text(node)
                if text.startswith("/**"):
                    for t in _JSDOC_TYPE.findall(text):
                        refs.types.extend((node.end_byte, n) for n in _NAME.findall(t))
        return refs

    def imports(self, root: Node) -> list[tuple[int, ImportRef]]:
        """ES imports, re-exports (``export … from``) and ``const x = require("…")``."""
        caps = QueryCursor(compiled_query(self.grammar, IMPORTS_QUERY)).captures(root)
        out: list[tuple[int, ImportRef]] = []
        for node in caps.get("import", []) + caps.get("reexport", []):
            source = node.child_by_field_name("source")
            module = _string_label(source) if source is not None else None
            if module is None:
                continue
            line = node.start_point[0] + 1
            type_only = any(c.type == "type" for c in node.children)
            refs = _import_bindings(node, module, line, type_only)
            out.extend((node.start_byte, r) for r in refs)
        bindings = caps.get("require.binding", [])
        fns = caps.get("require.fn", [])
        sources = caps.get("require.source", [])
        for binding, fn, src_node in zip(bindings, fns, sources, strict=False):
            if node_text(fn) != "require":
                continue
            module = _string_label(src_node)
            if module is None:
                continue
            line = binding.start_point[0] + 1
            if binding.type == "identifier":
                out.append((binding.start_byte, ImportRef(node_text(binding), module, None, line)))
            elif binding.type == "object_pattern":
                for item in binding.named_children:
                    if item.type == "shorthand_property_identifier_pattern":
                        name = node_text(item)
                        out.append((binding.start_byte, ImportRef(name, module, name, line)))
                    elif item.type == "pair_pattern":
                        key = node_text(item.child_by_field_name("key"))
                        alias = node_text(item.child_by_field_name("value"))
                        out.append((binding.start_byte, ImportRef(alias, module, key, line)))
        return out

    # -- files and tests --------------------------------------------------------------------

    def is_test_file(self, path: str) -> bool:
        """``*.test.ts``, ``*.spec.js`` and files under ``__tests__``/``tests``."""
        name = PurePosixPath(path).name
        return ".test." in name or ".spec." in name or in_test_dir(path, _TEST_DIRS)

    def is_test_definition(self, raw: RawDef, parents: tuple[RawDef, ...]) -> bool:
        """``it``/``test`` cases."""
        return raw.kind == "test"


def _import_bindings(node: Node, module: str, line: int, type_only: bool) -> list[ImportRef]:
    refs: list[ImportRef] = []
    if node.type == "export_statement":
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is None:
            return [ImportRef("*", module, None, line, type_only=type_only)]
        for spec in clause.named_children:
            name = node_text(spec.child_by_field_name("name"))
            alias = node_text(spec.child_by_field_name("alias")) or name
            refs.append(ImportRef(alias, module, name, line, type_only=type_only))
        return refs
    clause = next((c for c in node.named_children if c.type == "import_clause"), None)
    if clause is None:
        return [ImportRef("", module, None, line, type_only=type_only)]
    for item in clause.named_children:
        if item.type == "identifier":
            refs.append(ImportRef(node_text(item), module, "default", line, type_only=type_only))
        elif item.type == "namespace_import":
            alias = node_text(item.named_children[-1]) if item.named_child_count else ""
            refs.append(ImportRef(alias, module, None, line, type_only=type_only))
        elif item.type == "named_imports":
            for spec in item.named_children:
                if spec.type != "import_specifier":
                    continue
                name = node_text(spec.child_by_field_name("name"))
                alias = node_text(spec.child_by_field_name("alias")) or name
                spec_type_only = type_only or any(c.type == "type" for c in spec.children)
                refs.append(ImportRef(alias, module, name, line, type_only=spec_type_only))
    return refs
