"""assemble(): generated bodies spliced into skeletons by tree-sitter spans (Python and TS)."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mge.errors import InputError
from mge.validation.assemble import assemble, assemble_with_spans, python_body, script_block
from mge.validation.source import definitions, syntax_errors

PY_SKELETON = textwrap.dedent(
    '''\
    """A cart."""

    import math
    from dataclasses import dataclass


    @dataclass
    class Cart:
        """Items and prices."""

        prices: list[float]

        def total(self) -> float:
            """Sum of the prices.

            Post: >= 0 when every price is.
            """
            ...

        @staticmethod
        def empty() -> bool: ...


    def area(r: float) -> float:
        """Area of a circle of radius r."""
        ...


    def untouched(x: int) -> int:
        """Left alone."""
        ...
    '''
)


def _run(source: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(source, "<assembled>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize(
    ("qualname", "code"),
    [
        ("area", "def area(r: float) -> float:\n    return math.pi * r * r\n"),
        ("area", "return math.pi * r * r"),
        ("area", "    def area(r: float) -> float:\n        return math.pi * r * r\n"),
        ("area", "def area(r):\n    '''x'''\n    return math.pi * r * r"),
        (
            "area",
            "class Wrapper:\n    def area(r: float) -> float:\n        return math.pi * r * r\n",
        ),
    ],
    ids=["whole-def", "bare-body", "indented-def", "own-docstring-dropped", "nested-in-class"],
)
def test_python_forms_of_an_answer_all_give_the_same_function(qualname: str, code: str) -> None:
    out = assemble(PY_SKELETON, {qualname: code})
    assert syntax_errors(out, "python") == []
    ns = _run(out)
    assert ns["area"](2.0) == pytest.approx(12.566370614359172)  # type: ignore[operator]
    # The skeleton's docstring is kept, the model's is not.
    assert '"""Area of a circle of radius r."""' in out
    assert "'''x'''" not in out


def test_python_methods_same_line_bodies_and_untouched_stubs() -> None:
    out = assemble(
        PY_SKELETON,
        {
            "Cart.total": "def total(self) -> float:\n    s = 0.0\n    for p in self.prices:\n"
            "        s += p\n    return s\n",
            "Cart.empty": "return True",
        },
    )
    ns = _run(out)
    cart = ns["Cart"]([1.5, 2.5])  # type: ignore[operator]
    assert cart.total() == 4.0
    assert ns["Cart"].empty() is True  # type: ignore[attr-defined]
    assert "def empty() -> bool:\n        return True" in out
    # Multi-line docstring kept verbatim; the untouched stub stays a stub.
    assert "Post: >= 0 when every price is." in out
    assert 'def untouched(x: int) -> int:\n    """Left alone."""\n    ...' in out


def test_python_imports_above_the_function_move_into_the_body_unless_present() -> None:
    code = (
        "import math\nimport statistics\n\ndef area(r: float) -> float:\n"
        "    return statistics.fmean([math.pi * r * r])\n"
    )
    out = assemble(PY_SKELETON, {"area": code})
    body = out.split("def area", 1)[1].split("def untouched", 1)[0]
    assert "import statistics" in body
    assert "import math" not in body  # the file imports it already
    assert _run(out)["area"](1.0) == pytest.approx(3.141592653589793)  # type: ignore[operator]


def test_python_empty_answer_becomes_ellipsis_and_fails_loudly_later() -> None:
    assert python_body("", "area") == "..."
    assert python_body("def area(r):\n    '''only a docstring'''\n", "area") == "..."


def test_signature_in_the_answer_never_changes_the_skeleton_signature() -> None:
    out = assemble(PY_SKELETON, {"area": "def area(radius, extra=1):\n    return 0.0\n"})
    assert definitions(out, "python")["area"].signature == "def area(r: float) -> float"


def test_spans_point_at_the_spliced_definitions() -> None:
    result = assemble_with_spans(
        PY_SKELETON, {"area": "return 1.0\n", "Cart.empty": "x = 1\nreturn x == 1"}
    )
    lines = result.source.splitlines()
    first, last = result.spans["area"]
    assert lines[first - 1].startswith("def area")
    assert lines[last - 1].strip() == "return 1.0"
    first, last = result.spans["Cart.empty"]
    assert "@staticmethod" in lines[first - 1]
    assert lines[last - 1].strip() == "return x == 1"


@pytest.mark.parametrize(
    ("bodies", "message"),
    [
        ({"nope": "return 1"}, "defines no nope"),
        ({"Cart": "class Cart: pass", "Cart.total": "return 1.0"}, "one holds the other"),
    ],
)
def test_refusals_name_the_problem(bodies: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        assemble(PY_SKELETON, bodies)


TS_SKELETON = textwrap.dedent(
    """\
    import { Item } from "./item";

    /** Sum of prices. */
    export function total(items: Item[]): number {
      throw new Error("TODO");
    }

    export class Cart {
      constructor(private items: Item[]) {}

      /** True when empty. */
      isEmpty(): boolean {
        throw new Error("TODO");
      }
    }

    export const double = (x: number): number => {
      throw new Error("TODO");
    };
    """
)


@pytest.mark.parametrize(
    ("qualname", "code", "expected"),
    [
        (
            "total",
            "export function total(items: Item[]): number {\n"
            "  return items.reduce((s, i) => s + i.price, 0);\n}",
            "{\n  return items.reduce((s, i) => s + i.price, 0);\n}",
        ),
        ("total", "return items.length;", "{\n  return items.length;\n}"),
        (
            "Cart.isEmpty",
            "isEmpty(): boolean {\n  return this.items.length === 0;\n}",
            "{\n    return this.items.length === 0;\n  }",
        ),
        (
            "Cart.isEmpty",
            "class Cart {\n  isEmpty(): boolean {\n    return this.items.length === 0;\n  }\n}",
            "{\n    return this.items.length === 0;\n  }",
        ),
        (
            "double",
            "export const double = (x: number): number => {\n  return 2 * x;\n};",
            "{\n  return 2 * x;\n}",
        ),
    ],
    ids=["function", "bare-body", "bare-method", "method-in-class", "arrow"],
)
def test_typescript_bodies(qualname: str, code: str, expected: str) -> None:
    out = assemble(TS_SKELETON, {qualname: code}, "typescript")
    assert syntax_errors(out, "typescript") == []
    assert expected in out
    before = {q: d.signature for q, d in definitions(TS_SKELETON, "typescript").items()}
    after = {q: d.signature for q, d in definitions(out, "typescript").items()}
    assert before == after
    assert out.count('throw new Error("TODO")') == 2


def test_script_block_of_nothing_is_an_empty_block() -> None:
    assert script_block("", "f", "typescript", "  ") == "{\n  }"


_names = st.sampled_from(["a", "b", "total", "value"])
_ints = st.integers(min_value=-1000, max_value=1000)


@settings(max_examples=60, deadline=None)
@given(
    returns=st.lists(_ints, min_size=3, max_size=3),
    local=_names,
    as_def=st.booleans(),
    indent=st.sampled_from(["", "    ", "\t"]),
)
def test_any_simple_body_assembles_to_a_module_that_runs(
    returns: list[int], local: str, as_def: bool, indent: str
) -> None:
    """Property: whatever form the answer takes, the assembled module parses, keeps every
    skeleton signature, and each function returns what its body says."""
    skeleton = (
        "def f() -> int:\n    ...\n\n\nclass K:\n    def g(self) -> int:\n        ...\n\n\n"
        "def h() -> int:\n    '''doc'''\n    ...\n"
    )
    bodies = {}
    for (qualname, header), value in zip(
        [("f", "def f() -> int:"), ("K.g", "def g(self) -> int:"), ("h", "def h() -> int:")],
        returns,
        strict=True,
    ):
        body = f"{local} = {value}\nreturn {local}"
        code = header + "\n" + textwrap.indent(body, "    ") if as_def else body
        bodies[qualname] = textwrap.indent(code, indent)
    out = assemble(skeleton, bodies)
    assert syntax_errors(out, "python") == []
    ns = _run(out)
    assert ns["f"]() == returns[0]  # type: ignore[operator]
    assert ns["K"]().g() == returns[1]  # type: ignore[operator]
    assert ns["h"]() == returns[2]  # type: ignore[operator]
    assert ns["h"].__doc__ == "doc"  # type: ignore[attr-defined]
