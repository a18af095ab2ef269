import { StrictMode, Suspense, lazy, useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
import * as api from "./api";
import type { ProjectRow, QueueFilter, QueuePage } from "./api";
import type { AtomActions } from "./atom";
import { Login } from "./login";
import { Projects } from "./projects";
import { Queue } from "./queue";
import { href, parseRoute, typing, type Route } from "./route";

// The atom page (CodeMirror and the diff view) is a separate chunk: the queue never waits for it.
type AtomModule = typeof import("./atom");
let atomModule: AtomModule | null = null;
const loadAtom = () => import("./atom").then((m) => (atomModule = m));
const LazyAtom = lazy(() => loadAtom().then((m) => ({ default: m.Atom })));
// Fetched (and its editor warmed up) when the browser is idle, so it never competes with the
// first queue render.
const preloadAtom = () => void setTimeout(() => void loadAtom().then((m) => m.warmUp()), 1500);

/** The atom page: rendered directly once its chunk is here. Through `lazy` it would suspend on
 * every first render, and React holds a suspended page back ~300 ms to avoid flicker. The
 * choice is made once per page, so it never remounts. */
function Atom(props: Parameters<AtomModule["Atom"]>[0]) {
  const [Page] = useState(() => atomModule?.Atom ?? LazyAtom);
  return <Page {...props} />;
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => {
      const next = parseRoute(location.hash);
      if (next.page === "atom") api.prefetchAtom(next.project, next.atom); // before the render
      setRoute(next);
    };
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function App() {
  const route = useRoute();
  const [user, setUser] = useState<string | null>(null);
  const [mode, setMode] = useState("local");
  const [login, setLogin] = useState<string | null>(null);
  const [epoch, setEpoch] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [tick, setTick] = useState(0);
  const [projects, setProjects] = useState<ProjectRow[] | null>(null);
  const [queue, setQueue] = useState<QueuePage | null>(null);
  const [filter, setFilter] = useState<QueueFilter>("pending");
  const [selected, setSelected] = useState(0);
  const actions = useRef<AtomActions | null>(null);
  const project = route.page === "projects" ? null : route.project;

  useEffect(() => {
    preloadAtom();
    api.whenLoginNeeded((message) => setLogin(message));
  }, []);

  // Again after a login: a new session, a new event stream (EventSource gives up on a 401).
  useEffect(() => {
    api.session().then(
      (s) => {
        setUser(s.user);
        setMode(s.mode);
        setLogin(null);
        setError(null);
        setTick((n) => n + 1);
      },
      (e: api.ApiError) => !e.login && setError(e.message),
    );
    return api.watch(
      () => setTick((n) => n + 1),
      (up) => setLive(up),
    );
  }, [epoch]);

  const logout = () => void api.logout().then(() => setEpoch((n) => n + 1), (e: api.ApiError) => setError(e.message));

  useEffect(() => {
    if (route.page === "projects") api.projects().then((r) => setProjects(r.projects), (e: api.ApiError) => setError(e.message));
  }, [route.page, tick]);

  const loadQueue = useCallback(() => {
    if (project === null) return;
    api.queue(project, filter).then(
      (q) => {
        setQueue(q);
        setSelected((s) => Math.min(s, Math.max(0, q.items.length - 1)));
      },
      (e: api.ApiError) => setError(e.message),
    );
  }, [project, filter]);
  useEffect(loadQueue, [loadQueue, tick]);

  const items = queue?.project.key === project ? queue.items : [];
  const position = route.page === "atom" ? items.findIndex((i) => i.atom === route.atom) : -1;
  const at = (i: number) => (project && items[i] ? href({ page: "atom", project, atom: items[i].atom }) : null);
  const prev = route.page === "atom" && position > 0 ? at(position - 1) : null;
  const next = route.page === "atom" ? at(position + 1) : null;

  // A layout effect, not a plain one: the handler must see the rows the reader sees. A plain
  // effect runs after paint, so a key pressed just as a list appears met the previous render's
  // (empty) list and did nothing.
  useLayoutEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (route.page === "queue") {
        if (e.key === "j") setSelected((s) => Math.min(s + 1, items.length - 1));
        else if (e.key === "k") setSelected((s) => Math.max(s - 1, 0));
        else if (e.key === "Enter" && at(selected)) location.hash = at(selected)!;
        else if (e.key === "a" && project && items[selected] && !queue?.readOnly) {
          const it = items[selected];
          api.decide(project, it.atom, { decision: "approve", version: it.version }).then(loadQueue, (err: api.ApiError) => setError(err.message));
        } else return;
      } else if (route.page === "atom") {
        if (e.key === "j" && next) location.hash = next;
        else if (e.key === "k" && prev) location.hash = prev;
        else if (e.key === "a") actions.current?.approve();
        else if (e.key === "e") actions.current?.edit();
        else return;
      } else return;
      e.preventDefault();
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  });

  const bind = useCallback((a: AtomActions | null) => (actions.current = a), []);

  return (
    <>
      <header className="top">
        <a href="#/" className="brand">MGE review</a>
        {project && <a href={href({ page: "queue", project })}>{project}</a>}
        <span className="spacer" />
        <span className={live ? "live on" : "live"} data-testid="live" title="live updates from the store">{live ? "live" : "offline"}</span>
        {user && <span className="user" data-testid="user">{user}</span>}
        {user && mode === "cluster" && <button onClick={logout} data-testid="logout">Log out</button>}
      </header>
      {login !== null ? (
        <main>
          <Login message={login} onDone={() => setEpoch((n) => n + 1)} />
        </main>
      ) : (
      <main>
        {error && (
          <p className="banner bad" data-testid="error">
            {error} <button onClick={() => setError(null)}>×</button>
          </p>
        )}
        {route.page === "projects" && <Projects rows={projects} />}
        {route.page !== "projects" && (
          // Kept mounted (hidden) under an atom page: going to an atom and back costs no
          // teardown and rebuild of a long table.
          <div hidden={route.page !== "queue"}>
            <Queue page={queue?.project.key === project ? queue : null} filter={filter} selected={selected} onFilter={setFilter} onSelect={setSelected} />
          </div>
        )}
        {route.page === "atom" && (
          <Suspense fallback={<p className="muted">Loading…</p>}>
          <Atom
            key={`${route.project}/${route.atom}`}
            project={route.project}
            atomId={route.atom}
            liveTick={tick}
            prev={prev}
            next={next}
            bind={bind}
            onDecided={loadQueue}
          />
          </Suspense>
        )}
      </main>
      )}
    </>
  );
}

// Opened straight on an atom page: fetch its data and its chunk at once, and render when the
// chunk is here (no suspended first render; see Atom).
const opened = parseRoute(location.hash);
if (opened.page === "atom") api.prefetchAtom(opened.project, opened.atom);
const ready: Promise<unknown> = opened.page === "atom" ? loadAtom().catch(() => undefined) : Promise.resolve();
void ready.then(() =>
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
