// CodeMirror 6 editors: syntax highlighting by SoulBox language name, the
// page's theme, Ctrl/Cmd+Enter to run.
import { EditorView, basicSetup } from "codemirror";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { StreamLanguage } from "@codemirror/language";
import { oneDark } from "@codemirror/theme-one-dark";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { cpp } from "@codemirror/lang-cpp";
import { java } from "@codemirror/lang-java";
import { rust } from "@codemirror/lang-rust";
import { go } from "@codemirror/lang-go";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { ruby } from "@codemirror/legacy-modes/mode/ruby";
import { lua } from "@codemirror/legacy-modes/mode/lua";
import { perl } from "@codemirror/legacy-modes/mode/perl";
import { r } from "@codemirror/legacy-modes/mode/r";
import { haskell } from "@codemirror/legacy-modes/mode/haskell";
import { kotlin, scala, csharp } from "@codemirror/legacy-modes/mode/clike";
import { d } from "@codemirror/legacy-modes/mode/d";
import { erlang } from "@codemirror/legacy-modes/mode/erlang";
import { fortran } from "@codemirror/legacy-modes/mode/fortran";
import { pascal } from "@codemirror/legacy-modes/mode/pascal";
import { commonLisp } from "@codemirror/legacy-modes/mode/commonlisp";
import { scheme } from "@codemirror/legacy-modes/mode/scheme";
import { clojure } from "@codemirror/legacy-modes/mode/clojure";
import { oCaml } from "@codemirror/legacy-modes/mode/mllike";
import { tcl } from "@codemirror/legacy-modes/mode/tcl";
import { cobol } from "@codemirror/legacy-modes/mode/cobol";
import { crystal } from "@codemirror/legacy-modes/mode/crystal";
import { forth } from "@codemirror/legacy-modes/mode/forth";
import { gas } from "@codemirror/legacy-modes/mode/gas";
import { standardSQL } from "@codemirror/legacy-modes/mode/sql";

const stream = (m) => () => StreamLanguage.define(m);
const MODES = {
    python: python, pypy: python,
    javascript: javascript, typescript: () => javascript({ typescript: true }),
    c: cpp, cpp: cpp, java: java, rust: rust, go: go,
    bash: stream(shell), ruby: stream(ruby), lua: stream(lua), perl: stream(perl),
    r: stream(r), haskell: stream(haskell), kotlin: stream(kotlin), scala: stream(scala),
    csharp: stream(csharp), d: stream(d), erlang: stream(erlang), elixir: stream(ruby),
    fortran: stream(fortran), pascal: stream(pascal), commonlisp: stream(commonLisp),
    scheme: stream(scheme), racket: stream(scheme), clojure: stream(clojure),
    ocaml: stream(oCaml), tcl: stream(tcl), cobol: stream(cobol), crystal: stream(crystal),
    forth: stream(forth), nasm: stream(gas), sql: stream(standardSQL), nim: python,
    php: stream(perl), awk: stream(shell),
};

export function languageSupport(name) {
    const m = MODES[name];
    return m ? m() : [];
}

export function isDark() {
    return document.documentElement.dataset.theme === "dark";
}

// A code editor in parent. opts: doc, language, label, onRun (Mod-Enter),
// onChange(text).
export function createEditor(parent, opts = {}) {
    const lang = new Compartment(), theme = new Compartment();
    const runKeys = Prec.highest(keymap.of([{
        key: "Mod-Enter", preventDefault: true,
        run: () => { if (opts.onRun) opts.onRun(); return true; },
    }]));
    const view = new EditorView({
        parent,
        state: EditorState.create({
            doc: opts.doc || "",
            extensions: [
                runKeys, basicSetup, keymap.of([indentWithTab]),
                lang.of(languageSupport(opts.language)),
                theme.of(isDark() ? oneDark : []),
                EditorView.contentAttributes.of({ "aria-label": opts.label || "Code editor" }),
                EditorView.updateListener.of((u) => {
                    if (u.docChanged && opts.onChange) opts.onChange(u.state.doc.toString());
                }),
            ],
        }),
    });
    const onTheme = () => view.dispatch({ effects: theme.reconfigure(isDark() ? oneDark : []) });
    document.addEventListener("soulbox:theme", onTheme);
    return {
        view,
        get text() { return view.state.doc.toString(); },
        set text(t) {
            view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } });
        },
        setLanguage(name) { view.dispatch({ effects: lang.reconfigure(languageSupport(name)) }); },
        focus() { view.focus(); },
        destroy() { document.removeEventListener("soulbox:theme", onTheme); view.destroy(); },
    };
}
