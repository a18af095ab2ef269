"""The TypeScript/JavaScript side of the readiness checks: the drivers that run the pinned
Node tools in the sandbox (a tool's entry script, prettier through its API, the install check),
ESLint's one-line formatter, and the undeclared-import check (pure; the ESLint config itself is
:mod:`mge.execution.eslint_config`, shipped with the output too).

The tools (tsc, ESLint, typescript-eslint, eslint-plugin-security, prettier) are the ones
:mod:`mge.sandbox.nodetools` pins in its lockfile; the sandbox mounts their
``node_modules`` read-only and names it in ``$MGE_NODE_MODULES``. :data:`RUN_TOOL` links that
folder into the project as ``node_modules`` (so the config's imports and ``"types": ["node"]``
resolve) and runs one tool's entry script with the sandbox's node. :data:`INSTALL_DRIVER` is
the installability check: a fresh copy of the project whose ``node_modules`` holds only what
``package.json`` declares (linked from the sandbox's packages, as ``npm install`` would lay them
out; the sandbox has no network and the image no npm, so nothing is downloaded), then the
``test`` script run the way ``npm test`` runs it (``sh -c`` with ``node_modules/.bin`` on PATH).

Why these rule sets: ESLint's own core rules (a curated list of likely bugs, like ruff's
``E9,F,B``) and ``typescript-eslint``'s ``recommended`` for TypeScript; eslint-plugin-security
(maintained by the eslint-community org) for ``eval``, child_process, non-literal and unsafe
regular expressions; SQL built from strings with ESLint's core ``no-restricted-syntax`` and
two selectors (:func:`~mge.execution.eslint_config.sql_selectors`). Not taken:
eslint-plugin-no-unsanitized (it checks DOM sinks such as ``innerHTML``, which the server-side
code MGE generates does not have) and eslint-plugin-sql (its dependency multiline-ts runs
``npx only-allow pnpm`` on install, which fails ``npm ci`` of the output: tried, 3.4.1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from mge.execution.manifest import package_of
from mge.models.readiness import Finding
from mge.validation.codebase import is_test_file, language_of

MISSING_TOOL = "MGE-NODE-TOOL-MISSING "
"""What :data:`RUN_TOOL` prints when the Node tools are not in the sandbox."""
ESLINT_CONFIG = ".eslint-readiness.config.mjs"
"""The readiness check's ESLint config inside the sandbox folder (the output ships the same
rules as ``eslint.config.js``)."""
ESLINT_FORMAT = ".eslint-readiness-format.cjs"
"""An ESLint formatter printing one ``path:line:col: rule message`` line per problem."""

ESLINT_FORMATTER = """\
// One line per problem (path:line:col: rule message), read by MGE's readiness parser.
module.exports = (results) =>
  results
    .flatMap((r) =>
      r.messages.map(
        (m) =>
          `${r.filePath}:${m.line ?? 0}:${m.column ?? 0}: ${m.ruleId ?? "syntax"} ` +
          m.message.replace(/\\s+/g, " "),
      ),
    )
    .join("\\n") + "\\n";
"""

# Runs as `node -e RUN_TOOL <package> <entry> ARGS…` in the project folder.
RUN_TOOL = """\
const fs = require("node:fs"), path = require("node:path"), cp = require("node:child_process");
const [pkg, entry, ...args] = process.argv.slice(1);
const mods = process.env.MGE_NODE_MODULES || "";
const script = path.join(mods, pkg, entry);
if (!mods || !fs.existsSync(script)) {
  console.log("%MISSING%" + pkg + " (looked for " + (script || "$MGE_NODE_MODULES") + ")");
  process.exit(3);
}
if (!fs.existsSync("node_modules")) fs.symlinkSync(mods, "node_modules", "dir");
const flags = process.execArgv.filter((a) => a.startsWith("--") && a !== "--eval");
const r = cp.spawnSync(process.execPath, [...flags, script, ...args], { stdio: "inherit" });
process.exit(r.status === null ? 2 : r.status);
""".replace("%MISSING%", MISSING_TOOL)

# Runs as `node -e FORMAT_DRIVER` in the project folder: prettier's API on every TS/JS file, and
# one `path:line: …` line at the start of each region prettier would change (a line LCS).
FORMAT_DRIVER = """\
const fs = require("node:fs"), path = require("node:path");
const mods = process.env.MGE_NODE_MODULES || "";
const entry = path.join(mods, "prettier", "index.cjs");
if (!mods || !fs.existsSync(entry)) {
  console.log("%MISSING%prettier (looked for " + entry + ")");
  process.exit(3);
}
const prettier = require(entry);
const EXT = /\\.(?:[cm]?[jt]s|[jt]sx)$/;
const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.isFile() && EXT.test(e.name)) files.push(p);
  }
};
walk(".");
const starts = (a, b) => {
  const n = a.length, m = b.length;
  if (n * m > 4e6) {
    const i = a.findIndex((l, k) => l !== b[k]);
    return [(i < 0 ? Math.min(n, m) - 1 : i) + 1];
  }
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      dp[i][j] = a[i] === b[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  const out = [];
  let i = 0, j = 0, open = false;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { i++; j++; open = false; continue; }
    if (!open) { out.push(Math.min(i, n - 1) + 1); open = true; }
    if (j < m && (i >= n || dp[i][j + 1] >= dp[i + 1][j])) j++; else i++;
  }
  return out;
};
(async () => {
  let found = 0;
  for (const file of files.sort()) {
    const text = fs.readFileSync(file, "utf8");
    let formatted;
    try {
      formatted = await prettier.format(text, { filepath: file });
    } catch (e) {
      const line = (e && e.loc && e.loc.start && e.loc.start.line) || 1;
      const why = String(e.message).split("\\n")[0];
      console.log(file + ":" + line + ": prettier cannot parse this: " + why);
      found++;
      continue;
    }
    if (formatted === text) continue;
    for (const line of starts(text.split("\\n"), formatted.split("\\n"))) {
      console.log(file + ":" + line + ": prettier would reformat this");
      found++;
    }
  }
  process.exit(found ? 1 : 0);
})().catch((e) => {
  console.error(String((e && e.stack) || e));
  process.exit(2);
});
""".replace("%MISSING%", MISSING_TOOL)

# Runs as `node -e INSTALL_DRIVER` in the project folder; prints one MGE-INSTALL line a stage.
INSTALL_DRIVER = """\
const fs = require("node:fs"), path = require("node:path"), cp = require("node:child_process");
const os = require("node:os");
const MARK = "MGE-INSTALL ";
const report = (stage, ok, detail) => {
  console.log(MARK + JSON.stringify({ stage, ok, detail: detail || "" }));
  if (!ok) process.exit(0);
};
const root = process.cwd();
const mods = process.env.MGE_NODE_MODULES || "";
let pkg;
try {
  pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
} catch (e) {
  report("manifest", false, "package.json: " + e.message);
}
report("manifest", true);
const fresh = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), "mge-npm-"));
process.on("exit", () => fs.rmSync(fresh, { recursive: true, force: true }));
// Own walk, not fs.cpSync: the sandbox's private temp folder may sit inside the project folder
// (.mge-tmp, when the sandbox has no tmpfs of its own), which cpSync refuses.
const copy = (from, to) => {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    if (entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const src = path.join(from, entry.name), dst = path.join(to, entry.name);
    if (entry.isDirectory()) copy(src, dst);
    else if (entry.isFile()) fs.copyFileSync(src, dst);
  }
};
copy(root, fresh);
const wanted = { ...(pkg.dependencies || {}), ...(pkg.devDependencies || {}) };
const bin = path.join(fresh, "node_modules", ".bin");
fs.mkdirSync(bin, { recursive: true });
const missing = [];
for (const name of Object.keys(wanted).sort()) {
  const from = path.join(mods, name);
  if (!mods || !fs.existsSync(path.join(from, "package.json"))) {
    missing.push(name);
    continue;
  }
  const to = path.join(fresh, "node_modules", name);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.symlinkSync(from, to, "dir");
  const meta = JSON.parse(fs.readFileSync(path.join(from, "package.json"), "utf8"));
  const short = name.split("/").pop();
  const bins = typeof meta.bin === "string" ? { [short]: meta.bin } : meta.bin || {};
  for (const [cmd, file] of Object.entries(bins)) {
    const link = path.join(bin, cmd);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(from, file), link);
  }
}
if (missing.length) {
  report("dependencies", false, "not available offline in the sandbox: " + missing.join(", "));
}
report("dependencies", true);
const script = (pkg.scripts || {}).test;
if (!script) report("tests", false, "package.json has no test script (npm test runs it)");
const flags = process.execArgv.filter((a) => a.startsWith("--") && a !== "--eval");
const env = {
  ...process.env,
  PATH: [bin, path.dirname(process.execPath), process.env.PATH || "/usr/bin:/bin"].join(":"),
  NODE_OPTIONS: flags.join(" "),
  npm_lifecycle_event: "test",
};
delete env.MGE_NODE_MODULES;
const r = cp.spawnSync("sh", ["-c", script], { cwd: fresh, env, encoding: "utf8" });
const out = ((r.stdout || "") + (r.stderr || "")).slice(-6000);
report("tests", r.status === 0, r.status === 0 ? "" : "npm test exited " + r.status + ":\\n" + out);
"""

_TOOL_CONFIG = re.compile(r"^[^/]*\.config\.[cm]?[jt]s$")
"""A top-level tool config (``eslint.config.js``): run by the developer's tools, so its imports
belong in ``devDependencies`` like the tests'."""

_IMPORT_LINE = re.compile(
    r"""(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](?P<spec>[^"'\n]+)["']"""
)


def undeclared_npm_imports(
    files: Mapping[str, str],
    manifest_path: str = "package.json",
) -> list[Finding]:
    """Bare imports of the TS/JS code that ``package.json`` does not declare (code:
    ``dependencies``; tests and top-level tool configs: those or ``devDependencies``), one
    finding per import line."""
    manifest = files.get(manifest_path)
    if manifest is None:
        return [Finding(check="install", rule="manifest", message=f"no {manifest_path}")]
    try:
        data = json.loads(manifest)
    except ValueError as e:
        return [Finding(check="install", rule="manifest", path=manifest_path, message=str(e))]
    runtime = set(data.get("dependencies") or {})
    dev = set(data.get("devDependencies") or {})
    out = []
    for path, source in sorted(files.items()):
        if language_of(path) not in ("typescript", "javascript") or path.startswith(".mge-"):
            continue
        test = is_test_file(path) or bool(_TOOL_CONFIG.match(path))
        allowed = runtime | dev if test else runtime
        for number, line in enumerate(source.splitlines(), start=1):
            for m in _IMPORT_LINE.finditer(line):
                name = package_of(m.group("spec"))
                if name is None or name in allowed:
                    continue
                where = "dependencies or devDependencies" if test else "dependencies"
                out.append(
                    Finding(
                        check="install",
                        rule="undeclared",
                        path=path,
                        line=number,
                        message=f"imports {name}, which {manifest_path} does not declare in "
                        f"{where}",
                    )
                )
    return out
