"""The ESLint flat config MGE ships with TypeScript/JavaScript output and runs in its L4
readiness checks (pure: text out). Why these rules: see :mod:`mge.execution.readiness.nodejs`."""

from __future__ import annotations

import json
import re

SHIPPED_ESLINT_CONFIG = "eslint.config.js"

SECURITY_RULES: tuple[str, ...] = (
    "no-eval",
    "no-implied-eval",
    "no-new-func",
    "security/detect-eval-with-expression",
    "security/detect-child-process",
    "security/detect-non-literal-regexp",
    "security/detect-non-literal-require",
    "security/detect-unsafe-regex",
    "security/detect-buffer-noassert",
    "security/detect-new-buffer",
    "security/detect-pseudoRandomBytes",
    "security/detect-bidi-characters",
    "no-restricted-syntax",
)
"""The rules whose findings make the ``security`` check (the rest make ``lint``). Left out of
eslint-plugin-security: detect-object-injection, detect-non-literal-fs-filename and
detect-possible-timing-attacks, which flag most ordinary indexing and file code."""

LINT_RULES: tuple[str, ...] = (
    "constructor-super",
    "for-direction",
    "getter-return",
    "no-async-promise-executor",
    "no-compare-neg-zero",
    "no-cond-assign",
    "no-const-assign",
    "no-constant-binary-expression",
    "no-debugger",
    "no-dupe-class-members",
    "no-dupe-else-if",
    "no-dupe-keys",
    "no-duplicate-case",
    "no-empty-pattern",
    "no-fallthrough",
    "no-func-assign",
    "no-import-assign",
    "no-loss-of-precision",
    "no-self-assign",
    "no-self-compare",
    "no-setter-return",
    "no-sparse-arrays",
    "no-this-before-super",
    "no-unreachable",
    "no-unsafe-finally",
    "no-unsafe-negation",
    "no-unsafe-optional-chaining",
    "no-unused-private-class-members",
    "no-useless-catch",
    "no-with",
    "use-isnan",
    "valid-typeof",
)
"""ESLint core rules that find likely bugs (no style rules), for every file."""
JS_ONLY_RULES: tuple[str, ...] = ("no-undef", "no-unused-vars", "no-redeclare")
"""Core rules TypeScript's compiler and typescript-eslint cover for ``.ts`` files."""
NODE_GLOBALS: tuple[str, ...] = (
    "AbortController",
    "AbortSignal",
    "Blob",
    "Buffer",
    "Event",
    "EventTarget",
    "FormData",
    "Headers",
    "Request",
    "Response",
    "TextDecoder",
    "TextEncoder",
    "URL",
    "URLSearchParams",
    "atob",
    "btoa",
    "clearImmediate",
    "clearInterval",
    "clearTimeout",
    "console",
    "crypto",
    "fetch",
    "performance",
    "process",
    "queueMicrotask",
    "setImmediate",
    "setInterval",
    "setTimeout",
    "structuredClone",
)
COMMONJS_GLOBALS: tuple[str, ...] = ("__dirname", "__filename", "exports", "module", "require")


SQL_START = r"^\s*(select\s[\s\S]*\bfrom|insert\s+into|update\s+\S+\s+set|delete\s+from)\b"
"""The start of a string that is an SQL statement (case-insensitive)."""
SQL_MESSAGE = (
    "SQL built from strings (a template literal or + with values in it): pass the values as "
    "query parameters instead"
)


def sql_selectors() -> list[dict[str, str]]:
    """``no-restricted-syntax`` entries for SQL built from strings (ESLint has no core rule,
    and eslint-plugin-sql pulls in a package whose install script breaks ``npm install``): an
    untagged template literal with a value in it, or a ``+`` onto a literal, whose text starts
    like an SQL statement."""
    regex = f"/{SQL_START}/i"
    return [
        {
            "selector": f"TemplateLiteral[quasis.1][quasis.0.value.raw={regex}]"
            ":not(TaggedTemplateExpression > TemplateLiteral)",
            "message": SQL_MESSAGE,
        },
        {
            "selector": f"BinaryExpression[operator='+'][left.type='Literal'][left.value={regex}]",
            "message": SQL_MESSAGE,
        },
    ]


def eslint_packages(language: str) -> tuple[str, ...]:
    """The npm packages the ESLint config of ``language`` imports (devDependencies)."""
    base = ("eslint", "eslint-plugin-security")
    return (*base, "typescript-eslint") if language == "typescript" else base


UNUSED_OPTIONS = {
    "argsIgnorePattern": "^_",
    "varsIgnorePattern": "^_",
    "caughtErrorsIgnorePattern": "^_",
}
"""A leading underscore marks a name unused on purpose (a callback's unused parameter)."""


PRINT_WIDTH = 80
"""prettier's default line width: the config is written the way prettier prints it, so the
output's own ``npm run format`` (and the readiness format check) finds nothing in it."""
_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _js(value: object, indent: int, used: int) -> str:
    """``value`` (str, list, dict) as a JS literal printed the way prettier prints it: objects
    one key a line, arrays on one line when they fit in :data:`PRINT_WIDTH` (``used``
    characters of the line are taken), trailing commas, keys quoted only when they must be."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        flat = "[" + ", ".join(json.dumps(v) for v in value) + "]"
        if all(isinstance(v, str) for v in value) and used + len(flat) + 2 <= PRINT_WIDTH:
            return flat
        items = "".join(f"{inner}{_js(v, indent + 2, indent + 2)},\n" for v in value)
        return "[\n" + items + pad + "]"
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            name = key if _IDENTIFIER.match(key) else json.dumps(key)
            head = f"{inner}{name}: "
            text = _js(item, indent + 2, len(head))
            if isinstance(item, str) and len(head) + len(text) + 1 > PRINT_WIDTH:
                lines.append(f"{inner}{name}:\n{inner}  {text},\n")
            else:
                lines.append(f"{head}{text},\n")
        return "{\n" + "".join(lines) + pad + "}"
    raise TypeError(f"no JS literal for {type(value).__name__}")


def unused(rule: str) -> dict[str, object]:
    """``rule`` (no-unused-vars or its TypeScript twin) with :data:`UNUSED_OPTIONS`."""
    return {rule: ["error", UNUSED_OPTIONS]}


def eslint_config(language: str) -> str:
    """The flat ESLint config (ESM) of a ``language`` project: lint and security rules."""
    ts = language == "typescript"
    every: dict[str, object] = {r: "error" for r in LINT_RULES + SECURITY_RULES}
    every["no-restricted-syntax"] = ["error", *sql_selectors()]
    js_only = {**dict.fromkeys(JS_ONLY_RULES, "error"), **unused("no-unused-vars")}
    lines = [
        "// Written by MGE: the rules of its production-readiness checks (lint and security).",
        "// Run with: npx eslint .",
        'import security from "eslint-plugin-security";',
    ]
    if ts:
        lines.append('import tseslint from "typescript-eslint";')
    lines += [
        "",
        "const readonly = (names) =>",
        '  Object.fromEntries(names.map((n) => [n, "readonly"]));',
        f"const node = readonly({_js(list(NODE_GLOBALS), 0, 22)});",
        "",
        "export default [",
        '  { ignores: ["**/node_modules/", "dist/", "build/", "coverage/"] },',
        "  {",
        '    files: ["**/*.{js,mjs,cjs,ts,mts,cts}"],',
        '    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: node },',
        "    plugins: { security },",
        f"    rules: {_js(every, 4, 11)},",
        "  },",
        "  {",
        '    files: ["**/*.{js,mjs,cjs}"],',
        f"    rules: {_js(js_only, 4, 11)},",
        "  },",
        "  {",
        '    files: ["**/*.cjs"],',
        "    languageOptions: {",
        '      sourceType: "commonjs",',
        "      globals: {",
        "        ...node,",
        f"        ...readonly({_js(list(COMMONJS_GLOBALS), 8, 20)}),",
        "      },",
        "    },",
        "  },",
    ]
    if ts:
        lines += [
            "  ...tseslint.configs.recommended.map((c) => ({",
            "    ...c,",
            '    files: ["**/*.{ts,mts,cts}"],',
            "  })),",
            "  {",
            '    files: ["**/*.{ts,mts,cts}"],',
            f"    rules: {_js(unused('@typescript-eslint/no-unused-vars'), 4, 11)},",
            "  },",
        ]
    lines.append("];")
    return "\n".join(lines) + "\n"
