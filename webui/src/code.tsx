// CodeMirror 6 views: highlighted read-only code, the editor, and diffs (@codemirror/merge).
// Code is handed to CodeMirror as a document string: it becomes text nodes, never markup.
import { useEffect, useRef } from "react";
import { EditorState, type Extension } from "@codemirror/state";
import { EditorView, drawSelection, highlightActiveLine, keymap, lineNumbers } from "@codemirror/view";
import { bracketMatching, defaultHighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { unifiedMergeView } from "@codemirror/merge";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";

// The page's CSP allows <style> elements only with the nonce the server put in this meta tag.
const nonce = document.querySelector<HTMLMetaElement>('meta[name="mge-style-nonce"]')?.content ?? "";
const highlight = [syntaxHighlighting(defaultHighlightStyle, { fallback: true }), EditorView.cspNonce.of(nonce)];
const editing = [
  lineNumbers(),
  history(),
  drawSelection(),
  indentOnInput(),
  bracketMatching(),
  highlightActiveLine(),
  highlight,
];

export type Language = "python" | "typescript" | "javascript";

export function languageOf(lang: Language): Extension {
  return lang === "python" ? python() : javascript({ typescript: lang === "typescript" });
}

const readOnly = [EditorState.readOnly.of(true), EditorView.editable.of(false)];

function useEditor(make: () => EditorView | null, deps: unknown[]) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const view = make();
    if (view && host.current) host.current.appendChild(view.dom);
    return () => view?.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return host;
}

export function CodeView({ code, language, label }: { code: string; language: Language; label: string }) {
  const host = useEditor(
    () =>
      new EditorView({
        state: EditorState.create({ doc: code, extensions: [lineNumbers(), highlight, languageOf(language), ...readOnly] }),
      }),
    [code, language],
  );
  return <div className="code" ref={host} aria-label={label} data-testid={`code-${label}`} />;
}

/** The editor; `onChange` gets every edit, `initial` is read when `resetKey` changes. */
export function Editor(props: {
  initial: string;
  language: Language;
  resetKey: string;
  onChange: (code: string) => void;
  onSubmit: () => void;
  onReady?: (view: EditorView) => void;
}) {
  const { initial, language, resetKey, onChange, onSubmit, onReady } = props;
  const host = useEditor(() => {
    const view = new EditorView({
      state: EditorState.create({
        doc: initial,
        extensions: [
          keymap.of([
            { key: "Mod-Enter", run: () => (onSubmit(), true) },
            { key: "Escape", run: (v) => (v.contentDOM.blur(), true) },
            ...defaultKeymap,
            ...historyKeymap,
            indentWithTab,
          ]),
          ...editing,
          languageOf(language),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    onReady?.(view);
    return view;
  }, [resetKey, language]);
  return <div className="code editor" ref={host} data-testid="editor" />;
}

/** `after` with the changes from `before` marked (deleted lines shown inline). */
export function DiffView(props: { before: string; after: string; language: Language; label: string }) {
  const { before, after, language, label } = props;
  const host = useEditor(
    () =>
      new EditorView({
        state: EditorState.create({
          doc: after,
          extensions: [
            lineNumbers(),
            highlight,
            languageOf(language),
            ...readOnly,
            unifiedMergeView({ original: before, mergeControls: false, highlightChanges: true }),
          ],
        }),
      }),
    [before, after, language],
  );
  return <div className="code diff" ref={host} data-testid={`diff-${label}`} aria-label={label} />;
}

/** Build and drop one off-screen diff view while the reviewer reads the queue, so the first atom
 * page opened does not pay CodeMirror's one-time costs (style mounting, the parser, the merge
 * view) on the click. */
export function warmUp(language: Language = "python"): void {
  const host = document.createElement("div");
  host.setAttribute("aria-hidden", "true");
  host.style.cssText = "position:absolute;left:-10000px;top:0;width:600px";
  document.body.appendChild(host);
  const sample = "def f(x: int) -> int:\n    return x + 1\n";
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: sample,
      extensions: [
        lineNumbers(),
        highlight,
        languageOf(language),
        ...readOnly,
        unifiedMergeView({ original: sample.replace("+ 1", "- 1"), mergeControls: false, highlightChanges: true }),
      ],
    }),
  });
  requestAnimationFrame(() => {
    view.destroy();
    host.remove();
  });
}
