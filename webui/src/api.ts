// The typed client of the review server's JSON API (operator/mge/web/app.py), written once.

export interface Confidence {
  score: number;
  validation: number;
  attempts: number;
  complexity: number;
  integration: number;
  /** On the atom page; the queue sends the weights once (QueuePage.weights). */
  weights?: Record<string, number>;
}

export interface ProjectRow {
  key: string;
  phase: string;
  atoms: number;
  atomStates: Record<string, number>;
  progress: number;
  review: { total: number; pending: number; decided: number };
  costUsd: number;
  updatedAt: string;
}

export type QueueFilter = "pending" | "decided" | "all";
export type Decision = "approve" | "edit" | "regenerate";

export interface QueueRow {
  atom: string;
  reason: string;
  confidence: Confidence;
  decision: string;
  decidedBy: string | null;
  where: string;
  version: string;
}

export interface QueuePage {
  project: ProjectRow;
  filter: QueueFilter;
  weights: Record<string, number>;
  items: QueueRow[];
  /** Cluster mode: why this person may only read (no patch on AtomReviews), else null. */
  readOnly?: string | null;
}

export interface Check {
  name: string;
  passed: boolean;
  detail: string;
}

export interface Attempt {
  number: number;
  temperature: number;
  code: string;
  error: string;
  validation: { level: string; subject: string; passed: boolean; checks: Check[] } | null;
  costUsd: number;
}

export interface Failure {
  level: string;
  check: string;
  detail: string;
  where?: string;
}

export interface AtomPage {
  project: string;
  atom: string;
  version: string;
  reason: string;
  decision: string;
  decidedBy: string | null;
  decidedAt: string | null;
  feedback: string | null;
  code: string;
  editedCode: string | null;
  /** The atom's code once the item is decided (approved, edited or regenerated). */
  acceptedCode: string | null;
  suggestion: string;
  contextSummary: string;
  confidence: Confidence;
  atomState: string;
  unit: {
    file: string;
    language: "python" | "typescript" | "javascript";
    kind: string;
    qualname: string;
    signature: string;
    spec: string;
    preconditions: string[];
    postconditions: string[];
    complexity: number;
    estimatedLoc: number;
    testCases: string[];
    types: string[];
    dependencySignatures: string[];
    tests: string[];
  };
  dependencies: { atom: string; qualname: string; signature: string }[];
  attempts: Attempt[];
  failures: Failure[];
  /** Cluster mode: why this person may only read, else null. */
  readOnly?: string | null;
  /** Cluster mode: the AtomReview's state and the operator's message. */
  state?: string;
  message?: string;
  /** Cluster mode: whether the store's details (contract, attempts) are shown. */
  details?: boolean;
  /** Cluster mode: decidable now (pending, or the operator rejected the last decision). */
  open?: boolean;
}

export interface DecisionOutcome {
  /** pending: the operator has not acted yet (cluster); the outcome comes as a live update. */
  result: { accepted: boolean; pending?: boolean; message: string; state: string; code: string | null; failures: Failure[] };
  atom: AtomPage;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
    readonly current?: AtomPage,
    /** 401 in cluster mode: show the login form. */
    readonly login?: boolean,
  ) {
    super(message);
  }
}

let csrf: string | null = null;
let onLoginNeeded: ((message: string) => void) | null = null;

/** Called whenever the server says to log in (no session, or the token expired). */
export function whenLoginNeeded(handler: (message: string) => void): void {
  onLoginNeeded = handler;
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...init });
  } catch (e) {
    throw new ApiError(0, "network", `the server did not answer (${String(e)}); nothing was lost, try again`);
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new ApiError(response.status, body.error ?? "http", body.message ?? response.statusText, body.current, body.login === true);
    if (error.login) onLoginNeeded?.(error.message);
    throw error;
  }
  return body as T;
}

export async function session(): Promise<{ csrf: string; user: string | null; mode: string }> {
  const s = await call<{ csrf: string; user: string | null; mode: string }>("/api/session");
  csrf = s.csrf;
  return s;
}

/** Cluster mode: exchange a pasted token for a session (the server seals it into an HttpOnly
 * cookie; no script here sees it again). */
export const login = (token: string) =>
  call<{ user: string }>("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token }),
  });

export const logout = () =>
  call<{ user: null }>("/api/logout", { method: "POST", headers: { "X-MGE-CSRF": csrf ?? "" } });

export const projects = () => call<{ projects: ProjectRow[] }>("/api/projects");

export const queue = (key: string, filter: QueueFilter) =>
  call<QueuePage>(`/api/projects/${encodeURIComponent(key)}/queue?state=${filter}`);

const fetchAtom = (key: string, atomId: string) =>
  call<AtomPage>(`/api/projects/${encodeURIComponent(key)}/atoms/${encodeURIComponent(atomId)}`);

// One atom page fetched ahead: started the moment a reviewer opens an item (before React renders
// the page), taken by the page's own load. Used once, and only while fresh, so a page never shows
// older data than a fetch of its own would.
let ahead: { key: string; atomId: string; at: number; page: Promise<AtomPage> } | null = null;
const AHEAD_FRESH_MS = 2000;

export function prefetchAtom(key: string, atomId: string): void {
  if (ahead && ahead.key === key && ahead.atomId === atomId && performance.now() - ahead.at < AHEAD_FRESH_MS) return;
  const page = fetchAtom(key, atomId);
  page.catch(() => undefined); // a failed fetch ahead is reported by the page's own load
  ahead = { key, atomId, at: performance.now(), page };
}

/** The atom page: the one fetched ahead for it if fresh (a failed one is fetched again, e.g.
 * fetched before a login), else a new fetch. */
export function atom(key: string, atomId: string): Promise<AtomPage> {
  const taken = ahead;
  ahead = null;
  if (taken && taken.key === key && taken.atomId === atomId && performance.now() - taken.at < AHEAD_FRESH_MS) {
    return taken.page.catch(() => fetchAtom(key, atomId));
  }
  return fetchAtom(key, atomId);
}

export function decide(
  key: string,
  atomId: string,
  body: { decision: Decision; version: string; code?: string; feedback?: string },
): Promise<DecisionOutcome> {
  return call<DecisionOutcome>(
    `/api/projects/${encodeURIComponent(key)}/atoms/${encodeURIComponent(atomId)}/decision`,
    {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-MGE-CSRF": csrf ?? "" },
      body: JSON.stringify(body),
    },
  );
}

/** Calls `onChange` with the keys of projects that changed; reconnects by itself. */
export function watch(onChange: (projects: string[]) => void, onState: (live: boolean) => void): () => void {
  const source = new EventSource("/api/events");
  source.addEventListener("hello", () => onState(true));
  source.addEventListener("change", (e) => onChange(JSON.parse((e as MessageEvent<string>).data).projects));
  source.onerror = () => onState(false);
  return () => source.close();
}
