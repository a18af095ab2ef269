// Hash routes: #/ (projects), #/p/KEY (queue), #/p/KEY/a/ATOM (atom page).
export type Route =
  | { page: "projects" }
  | { page: "queue"; project: string }
  | { page: "atom"; project: string; atom: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "p" && parts[1]) {
    if (parts[2] === "a" && parts[3]) return { page: "atom", project: parts[1], atom: parts[3] };
    return { page: "queue", project: parts[1] };
  }
  return { page: "projects" };
}

export function href(route: Route): string {
  const e = encodeURIComponent;
  if (route.page === "queue") return `#/p/${e(route.project)}`;
  if (route.page === "atom") return `#/p/${e(route.project)}/a/${e(route.atom)}`;
  return "#/";
}

/** Whether a key press belongs to a text field (then j/k/a/e are typing, not commands). */
export function typing(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName) || !!t.closest(".cm-editor"));
}
