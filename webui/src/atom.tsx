import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import type { EditorView } from "@codemirror/view";
import * as api from "./api";
import type { AtomPage, Attempt } from "./api";
import { CodeView, DiffView, Editor } from "./code";
export { warmUp } from "./code";
import { Banner, ConfidenceParts, type Notice } from "./parts";
import { href } from "./route";

/** The first fenced code block of a suggestion, if it has one. */
export function suggestedCode(suggestion: string): string | null {
  const m = /```[A-Za-z0-9_+-]*\n([\s\S]*?)```/.exec(suggestion);
  return m ? m[1].replace(/\n$/, "") : null;
}

export interface AtomActions {
  approve: () => void;
  edit: () => void;
}

export function Atom(props: {
  project: string;
  atomId: string;
  liveTick: number;
  prev: string | null;
  next: string | null;
  bind: (actions: AtomActions | null) => void;
  onDecided: () => void;
}) {
  const { project, atomId, liveTick, prev, next, bind, onDecided } = props;
  const [page, setPage] = useState<AtomPage | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [editText, setEditText] = useState("");
  const [epoch, setEpoch] = useState(0);
  const [feedback, setFeedback] = useState("");
  const [notice, setNotice] = useState<Notice | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [refused, setRefused] = useState<string | null>(null);
  const editor = useRef<EditorView | null>(null);
  const pageRef = useRef<AtomPage | null>(null);
  const busyRef = useRef(false);
  pageRef.current = page;

  const resetEditor = (text: string) => {
    setEditText(text);
    setEpoch((n) => n + 1);
  };

  useEffect(() => {
    let gone = false;
    setPage(null);
    setNotice(null);
    setLoadError(null);
    api.atom(project, atomId).then(
      (p) => {
        if (gone) return;
        setPage(p);
        resetEditor(p.editedCode ?? p.code);
      },
      (e: api.ApiError) => !gone && setLoadError(e.message),
    );
    return () => {
      gone = true;
    };
  }, [project, atomId]);

  // A change elsewhere: show the new state, say so, keep the reviewer's text. Changes before
  // this page opened are in its first load already (no second fetch on mount).
  const openedAt = useRef(liveTick);
  useEffect(() => {
    if (liveTick === openedAt.current) return;
    let gone = false;
    api.atom(project, atomId).then((p) => {
      const old = pageRef.current;
      if (gone || busyRef.current || !old || p.version === old.version) return;
      setPage(p);
      const who = p.decidedBy ? ` by ${p.decidedBy}` : "";
      if (p.decision === old.decision && p.decidedBy === old.decidedBy && p.state !== old.state && p.message) {
        // the operator acted on the decision (cluster): its outcome
        setNotice({ kind: p.state === "Accepted" ? "ok" : p.state === "Rejected" ? "bad" : "info", message: p.message });
        return;
      }
      setNotice({
        kind: "stale",
        message:
          p.decision !== "pending"
            ? `Decided elsewhere: ${p.decision}${who}. Your edit text is kept in the editor.`
            : "This item changed elsewhere; the page shows the new version. Your edit text is kept.",
      });
    }, () => undefined);
    return () => {
      gone = true;
    };
  }, [liveTick, project, atomId]);

  const act = useCallback(
    async (decision: api.Decision) => {
      const current = pageRef.current;
      if (!current || busyRef.current) return;
      if (decision === "regenerate" && !feedback.trim()) {
        setNotice({ kind: "bad", message: "Write what should change before asking for a regeneration." });
        return;
      }
      busyRef.current = true;
      setBusy(decision);
      setNotice({ kind: "info", message: decision === "approve" ? "Approving…" : decision === "edit" ? "Validating your code…" : "Regenerating and validating…" });
      try {
        const out = await api.decide(project, atomId, {
          decision,
          version: current.version,
          ...(decision === "edit" ? { code: editText } : {}),
          ...(decision === "regenerate" ? { feedback } : {}),
        });
        setPage(out.atom);
        const kind = out.result.pending ? "info" : out.result.accepted ? "ok" : "bad";
        setNotice({ kind, message: out.result.message, failures: out.result.failures });
        if (out.result.accepted || out.result.pending) onDecided();
      } catch (e) {
        const err = e as api.ApiError;
        if (err.kind === "stale" && err.current) setPage(err.current);
        if (err.kind === "forbidden") setRefused(err.message);
        setNotice({
          kind: err.kind === "stale" ? "stale" : "bad",
          message: err.kind === "network" || err.kind === "stale" ? err.message : `${err.message} (your text is kept)`,
        });
      } finally {
        busyRef.current = false;
        setBusy(null);
      }
    },
    [project, atomId, editText, feedback, onDecided],
  );

  // Bound in a layout effect so the keyboard acts on the atom version on screen, never on the
  // one before it (a plain effect runs after paint).
  useLayoutEffect(() => {
    bind({ approve: () => void act("approve"), edit: () => editor.current?.focus() });
    return () => bind(null);
  }, [bind, act]);

  if (loadError) return <p className="banner bad">{loadError}</p>;
  if (!page) return <p className="muted">Loading…</p>;
  const u = page.unit;
  const readOnly = page.readOnly ?? refused;
  const pending = (page.open ?? page.decision === "pending") && !readOnly;
  const suggestion = suggestedCode(page.suggestion);
  return (
    <section className="atom" data-testid="atom-page" data-version={page.version}>
      <header className="atom-head">
        <a href={href({ page: "queue", project })}>← {project}</a>
        <h2>{u.qualname} <span className="muted small">{page.atom}</span></h2>
        <span className={`reason ${page.reason}`}>{page.reason.replace("_", " ")}</span>
        <span className="decision" data-testid="decision">{page.decision}{page.decidedBy ? ` · ${page.decidedBy}` : ""}</span>
        <span className="num">confidence {page.confidence.score.toFixed(2)}</span>
        <ConfidenceParts c={page.confidence} />
        <span className="nav">
          {prev && <a href={prev} title="k">↑ previous</a>} {next && <a href={next} title="j">next ↓</a>}
        </span>
      </header>
      {readOnly && <p className="banner stale" data-testid="read-only">{readOnly}</p>}
      {page.details === false && (
        <p className="muted small" data-testid="no-details">Contract, context and attempts come from the store; this server shows what the AtomReview holds.</p>
      )}
      <Banner notice={notice} onClose={() => setNotice(null)} />
      <div className="columns">
        <div className="col">
          <h3>Contract and context</h3>
          <p className="muted">{u.file} · {u.kind} · est. {u.estimatedLoc} LOC · complexity {u.complexity}</p>
          <CodeView code={u.signature} language={u.language} label="signature" />
          {u.spec && <pre className="text">{u.spec}</pre>}
          <List title="Preconditions" items={u.preconditions} />
          <List title="Postconditions" items={u.postconditions} />
          <h4>Dependencies</h4>
          {page.dependencies.length === 0 && u.dependencySignatures.length === 0 ? (
            <p className="muted">none</p>
          ) : (
            <ul className="mono">
              {page.dependencies.map((d) => <li key={d.atom}>{d.signature}</li>)}
              {u.dependencySignatures.map((s, i) => <li key={`s${i}`}>{s}</li>)}
            </ul>
          )}
          <List title="Types" items={u.types} mono />
          <List title="Tests" items={u.testCases} mono />
          {u.tests.map((t, i) => <CodeView key={i} code={t} language={u.language} label={`test-${i}`} />)}
          <h3>Validation failures</h3>
          {page.failures.length === 0 ? (
            <p className="muted">none recorded</p>
          ) : (
            <ul className="failures" data-testid="failures">
              {page.failures.map((f, i) => (
                <li key={i}><b>{f.level || "—"} · {f.check}</b> <span className="muted">({f.where})</span><pre>{f.detail}</pre></li>
              ))}
            </ul>
          )}
          <h3>Attempts ({page.attempts.length})</h3>
          {page.attempts.map((a, i) => (
            <AttemptRow key={a.number} attempt={a} previous={i > 0 ? page.attempts[i - 1] : null} language={u.language} />
          ))}
        </div>
        <div className="col">
          {page.acceptedCode !== null && (
            <>
              <h3>Accepted code <span className="muted small">({page.decision}{page.decidedBy ? ` by ${page.decidedBy}` : ""})</span></h3>
              <DiffView before={page.code} after={page.acceptedCode} language={u.language} label="accepted" />
            </>
          )}
          <h3>{page.acceptedCode !== null ? "Code under review" : "Current code"}</h3>
          <CodeView code={page.code} language={u.language} label="current" />
          {page.editedCode !== null && page.editedCode !== page.code && (
            <>
              <h4>Last submitted edit</h4>
              <DiffView before={page.code} after={page.editedCode} language={u.language} label="last-edit" />
            </>
          )}
          <h3>AI suggestion</h3>
          <pre className="text" data-testid="suggestion">{page.suggestion || "(none)"}</pre>
          {suggestion !== null && (
            <>
              <DiffView before={page.code} after={suggestion} language={u.language} label="suggestion" />
              <button onClick={() => resetEditor(suggestion)} data-testid="take-suggestion">Take the suggestion into the editor</button>
            </>
          )}
          <h3>Decide {pending ? "" : <span className="muted small">(decided: {page.decision})</span>}</h3>
          <div className="actions">
            <button className="primary" disabled={!pending || busy !== null} onClick={() => void act("approve")} data-testid="approve">
              Approve <kbd>a</kbd>
            </button>
          </div>
          <h4>Edit <span className="muted small"><kbd>e</kbd> to focus · <kbd>Ctrl</kbd>+<kbd>Enter</kbd> submits · <kbd>Esc</kbd> leaves</span></h4>
          <Editor
            initial={editText}
            language={u.language}
            resetKey={`${atomId}:${epoch}`}
            onChange={setEditText}
            onSubmit={() => void act("edit")}
            onReady={(v) => (editor.current = v)}
          />
          <div className="actions">
            <button disabled={!pending || busy !== null} onClick={() => void act("edit")} data-testid="submit-edit">Submit edit</button>
            <button onClick={() => resetEditor(page.code)} data-testid="reset-edit">Reset to current code</button>
          </div>
          <h4>Regenerate with feedback</h4>
          <textarea
            value={feedback}
            onChange={(e) => setFeedback(e.target.value)}
            rows={3}
            placeholder="What should change?"
            data-testid="feedback"
          />
          <div className="actions">
            <button disabled={!pending || busy !== null} onClick={() => void act("regenerate")} data-testid="regenerate">Regenerate</button>
          </div>
          {busy && <p className="muted" data-testid="busy">working: {busy}…</p>}
        </div>
      </div>
    </section>
  );
}

function List({ title, items, mono }: { title: string; items: string[]; mono?: boolean }) {
  return (
    <>
      <h4>{title}</h4>
      {items.length === 0 ? <p className="muted">none</p> : <ul className={mono ? "mono" : ""}>{items.map((s, i) => <li key={i}>{s}</li>)}</ul>}
    </>
  );
}

function AttemptRow({ attempt, previous, language }: { attempt: Attempt; previous: Attempt | null; language: AtomPage["unit"]["language"] }) {
  const [open, setOpen] = useState(false);
  const v = attempt.validation;
  const status = v ? (v.passed ? `${v.level} passed` : `${v.level} failed: ${v.checks.filter((c) => !c.passed).map((c) => c.name).join(", ")}`) : attempt.error ? "error" : "not validated";
  return (
    <div className="attempt" data-testid={`attempt-${attempt.number}`}>
      <button className="link" onClick={() => setOpen(!open)}>
        {open ? "▾" : "▸"} attempt {attempt.number} · t={attempt.temperature} · {status} · {attempt.costUsd.toFixed(4)} USD
      </button>
      {open && (
        <>
          {attempt.error && <pre className="text">{attempt.error}</pre>}
          {previous ? (
            <DiffView before={previous.code} after={attempt.code} language={language} label={`attempt-${attempt.number}`} />
          ) : (
            <CodeView code={attempt.code} language={language} label={`attempt-${attempt.number}`} />
          )}
        </>
      )}
    </div>
  );
}
