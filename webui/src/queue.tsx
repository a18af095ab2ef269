import { memo, useEffect, useRef } from "react";
import { prefetchAtom, type QueueFilter, type QueuePage, type QueueRow } from "./api";
import { ConfidenceParts } from "./parts";
import { href } from "./route";

const FILTERS: QueueFilter[] = ["pending", "decided", "all"];

/** Memoised: an atom page above it re-renders the app, not a thousand unchanged rows. */
export const Queue = memo(function Queue(props: {
  page: QueuePage | null;
  filter: QueueFilter;
  selected: number;
  onFilter: (f: QueueFilter) => void;
  onSelect: (i: number) => void;
}) {
  const { page, filter, selected, onFilter, onSelect } = props;
  const body = useRef<HTMLTableSectionElement>(null);
  useEffect(() => {
    body.current?.children[selected]?.scrollIntoView({ block: "nearest" });
  }, [selected]);
  if (page === null) return <p className="muted">Loading…</p>;
  const p = page.project;
  return (
    <section>
      <h2>
        {p.key} <span className={`phase ${p.phase}`}>{p.phase}</span>
        <span className="muted small"> {p.review.pending} pending of {p.review.total} · progress {p.progress} % · {p.costUsd.toFixed(2)} USD</span>
      </h2>
      <nav className="filters">
        {FILTERS.map((f) => (
          <button key={f} className={f === filter ? "on" : ""} onClick={() => onFilter(f)} data-testid={`filter-${f}`}>
            {f}
          </button>
        ))}
        <span className="muted small keys">j / k move · Enter open · a approve</span>
      </nav>
      {page.readOnly && (
        <p className="banner stale" data-testid="read-only">{page.readOnly}</p>
      )}
      {p.review.total > 0 && p.review.pending === 0 && p.phase === "Reviewing" && (
        <p className="banner ok" data-testid="all-decided">
          Every item is decided. Run <code>mge run</code> on the project's manifest again: it writes the reviewed
          codebase (no model call is repeated) and the project becomes Completed.
        </p>
      )}
      {page.items.length === 0 ? (
        <p className="muted" data-testid="queue-empty">
          Nothing {filter === "all" ? "" : filter} here.{p.phase === "Completed" ? " The project is Completed." : ""}
        </p>
      ) : (
        <table className="grid queue" data-testid="queue">
          <thead>
            <tr><th>atom</th><th>reason</th><th>confidence</th><th>parts (validation 40 %, attempts 30 %, complexity 20 %, integration 10 %)</th><th>decision</th><th>where</th></tr>
          </thead>
          <tbody ref={body}>
            {page.items.map((it, i) => (
              <Row key={it.atom} item={it} index={i} project={p.key} weights={page.weights} selected={i === selected} onSelect={onSelect} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
});

/** One row, memoised: moving the selection or opening an atom re-renders two rows, not a thousand. */
const Row = memo(function Row(props: {
  item: QueueRow;
  index: number;
  project: string;
  weights: QueuePage["weights"];
  selected: boolean;
  onSelect: (i: number) => void;
}) {
  const { item: it, index, project, weights, selected, onSelect } = props;
  return (
    <tr className={selected ? "selected" : ""} onClick={() => onSelect(index)} data-atom={it.atom}>
      <td><a href={href({ page: "atom", project, atom: it.atom })} onClick={() => prefetchAtom(project, it.atom)}>{it.atom}</a></td>
      <td><span className={`reason ${it.reason}`}>{it.reason.replace("_", " ")}</span></td>
      <td className="num">{it.confidence.score.toFixed(2)}</td>
      <td><ConfidenceParts c={it.confidence} weights={weights} /></td>
      <td>{it.decision}{it.decidedBy ? ` · ${it.decidedBy}` : ""}</td>
      <td className="where">{it.where}</td>
    </tr>
  );
});
