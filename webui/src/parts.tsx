// Small shared pieces: the confidence parts, a message banner.
import type { Confidence, Failure } from "./api";

const PARTS = ["validation", "attempts", "complexity", "integration"] as const;

export function ConfidenceParts({ c }: { c: Confidence }) {
  return (
    <span className="parts">
      {PARTS.map((p) => (
        <span key={p} className="part" title={`${p}: ${c[p].toFixed(2)} × ${c.weights[p]}`}>
          <span className="part-name">{p.slice(0, 3)}</span>
          <span className="bar">
            <span className="fill" style={{ width: `${Math.round(c[p] * 100)}%` }} />
          </span>
          <span className="part-value">{c[p].toFixed(2)}</span>
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
