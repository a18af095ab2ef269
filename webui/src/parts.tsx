// Small shared pieces: the confidence parts, a message banner.
import type { Confidence, Failure } from "./api";

const PARTS = ["validation", "attempts", "complexity", "integration"] as const;

/** The four parts, each a bar and its value (few elements: a queue has a thousand rows). */
export function ConfidenceParts({ c, weights }: { c: Confidence; weights?: Record<string, number> }) {
  const w = weights ?? c.weights ?? {};
  return (
    <span className="parts">
      {PARTS.map((p) => (
        <span key={p} className="part" title={`${p}: ${c[p].toFixed(2)} × weight ${w[p] ?? "?"}`}>
          {p.slice(0, 3)} <i className="bar"><i className="fill" style={{ width: `${Math.round(c[p] * 100)}%` }} /></i> {c[p].toFixed(2)}
        </span>
      ))}
    </span>
  );
}

export type Notice = { kind: "ok" | "bad" | "stale" | "info"; message: string; failures?: Failure[] };

export function Banner({ notice, onClose }: { notice: Notice | null; onClose: () => void }) {
  if (!notice) return null;
  return (
    <div className={`banner ${notice.kind}`} role="status" data-testid="banner">
      <button className="close" onClick={onClose} aria-label="close">×</button>
      <p className="banner-message">{notice.message}</p>
      {notice.failures && notice.failures.length > 0 && (
        <ul className="failures">
          {notice.failures.map((f, i) => (
            <li key={i}>
              <b>{[f.level, f.check].filter(Boolean).join(" · ")}</b>
              <pre>{f.detail}</pre>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
