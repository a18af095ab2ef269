"""The ESLint flat config MGE ships with TypeScript/JavaScript output and runs in its L4
readiness checks (pure: text out). Why these rules: see :mod:`mge.execution.readiness.nodejs`."""

from __future__ import annotations

import json

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
    "sql/no-unsafe-query",
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


def eslint_packages(language: str) -> tuple[str, ...]:
    """The npm packages the ESLint config of ``language`` imports (devDependencies)."""
    base = ("eslint", "eslint-plugin-security", "eslint-plugin-sql")
    return (*base, "typescript-eslint") if language == "typescript" else base


def eslint_config(language: str) -> str:
    """The flat ESLint config (ESM) of a ``language`` project: lint and security rules."""

    def table(rules: tuple[str, ...]) -> str:
        return "{\n" + "".join(f'      "{r}": "error",\n' for r in rules) + "    }"

    def names(items: tuple[str, ...]) -> str:
        return json.dumps(list(items))

    ts = language == "typescript"
    lines = [
        "// Written by MGE: the rules of its production-readiness checks (lint and security).",
        "// Run with: npx eslint .",
        'import security from "eslint-plugin-security";',
        'import sql from "eslint-plugin-sql";',
    ]
    if ts:
        lines.append('import tseslint from "typescript-eslint";')
    lines += [
        "",
        'const readonly = (names) => Object.fromEntries(names.map((n) => [n, "readonly"]));',
        f"const node = readonly({names(NODE_GLOBALS)});",
        "",
        "export default [",
        '  { ignores: ["**/node_modules/", "**/.mge-*", "dist/", "build/", "coverage/"] },',
        "  {",
        '    files: ["**/*.{js,mjs,cjs,ts,mts,cts}"],',
        '    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: node },',
        "    plugins: { security, sql },",
        f"    rules: {table(LINT_RULES + SECURITY_RULES)},",
        "  },",
        "  {",
        '    files: ["**/*.{js,mjs,cjs}"],',
        f"    rules: {table(JS_ONLY_RULES)},",
        "  },",
        "  {",
        '    files: ["**/*.cjs"],',
        "    languageOptions: {",
        '      sourceType: "commonjs",',
        f"      globals: {{ ...node, ...readonly({names(COMMONJS_GLOBALS)}) }},",
        "    },",
        "  },",
    ]
    if ts:
        lines += [
            "  ...tseslint.configs.recommended.map((c) => ({",
            "    ...c,",
            '    files: ["**/*.{ts,mts,cts}"],',
            "  })),",
        ]
    lines.append("];")
    return "\n".join(lines) + "\n"
