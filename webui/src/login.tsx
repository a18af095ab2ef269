import { useState } from "react";
import * as api from "./api";

/** Cluster mode without an auth proxy: paste a bearer token (sealed into an HttpOnly session
 * cookie by the server; this page never keeps it). */
export function Login({ message, onDone }: { message: string; onDone: () => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.login(token.trim());
      setToken("");
      onDone();
    } catch (e) {
      setError((e as api.ApiError).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="login" data-testid="login">
      <h2>Log in to review</h2>
      <p className="muted">{message}</p>
      <p>
        Paste a Kubernetes bearer token: your cluster login's id-token, or one made with{" "}
        <code>kubectl create token SERVICEACCOUNT</code>. Every action is sent to the API server with it, so your
        own rights apply and the audit log names you. It is kept for this session only, encrypted in a cookie no
        script can read; logging out removes it.
      </p>
      <textarea
        rows={4}
        value={token}
        onChange={(e) => setToken(e.target.value)}
        autoComplete="off"
        spellCheck={false}
        data-testid="token"
      />
      <div className="actions">
        <button className="primary" disabled={busy || !token.trim()} onClick={() => void submit()} data-testid="login-submit">
          Log in
        </button>
      </div>
      {error && <p className="banner bad" data-testid="login-error">{error}</p>}
    </section>
  );
}
