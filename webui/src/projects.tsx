import type { ProjectRow } from "./api";
import { href } from "./route";

export function Projects({ rows }: { rows: ProjectRow[] | null }) {
  if (rows === null) return <p className="muted">Loading…</p>;
  if (rows.length === 0) return <p className="muted">No project in the store yet: run `mge run project.yaml`.</p>;
  return (
    <table className="grid" data-testid="projects">
      <thead>
        <tr>
          <th>project</th><th>phase</th><th>progress</th><th>atoms</th><th>review pending</th><th>decided</th><th>cost (USD)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((p) => (
          <tr key={p.key}>
            <td><a href={href({ page: "queue", project: p.key })}>{p.key}</a></td>
            <td><span className={`phase ${p.phase}`}>{p.phase}</span></td>
            <td>
              <span className="bar wide"><span className="fill" style={{ width: `${p.progress}%` }} /></span> {p.progress} %
            </td>
            <td>{p.atoms}</td>
            <td>{p.review.pending}</td>
            <td>{p.review.decided} / {p.review.total}</td>
            <td>{p.costUsd.toFixed(2)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
