// The playground's pure helpers: a result in words, arguments split like a
// shell, a language's entry file name.

const WORDS = {
    ok: "Finished",
    runtime_error: "Runtime error",
    time_limit_exceeded: "Time limit exceeded",
    memory_limit_exceeded: "Memory limit exceeded",
    output_limit_exceeded: "Output limit exceeded",
    compile_error: "Compile error",
    internal_error: "Internal error",
};

// {text, kind}: kind is "ok" or "bad", for the status line's colour.
export function describeResult(r) {
    const words = WORDS[r.status] || r.status || "Done";
    let text = words;
    if (r.status === "ok") text = words;
    else if (r.message) text = `${words}: ${r.message}`;
    else if (r.exit_code !== null && r.exit_code !== undefined) text = `${words}: exit code ${r.exit_code}`;
    return { text, kind: r.status === "ok" ? "ok" : "bad" };
}

// Splits an argument line as a POSIX shell would for quotes and backslashes
// (no expansion): a "b c" 'd e' f\ g -> [a, b c, d e, f g].
export function parseArgs(line) {
    const out = [];
    let cur = "", has = false, q = "";
    for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (q) {
            if (c === q) q = "";
            else if (c === "\\" && q === '"' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) cur += line[++i];
            else cur += c;
        } else if (c === '"' || c === "'") {
            q = c;
            has = true;
        } else if (c === "\\" && i + 1 < line.length) {
            cur += line[++i];
            has = true;
        } else if (/\s/.test(c)) {
            if (has) out.push(cur);
            cur = "";
            has = false;
        } else {
            cur += c;
            has = true;
        }
    }
    if (has) out.push(cur);
    return out;
}

const EXT = {
    python: ".py", pypy: ".py", javascript: ".js", typescript: ".ts", c: ".c", cpp: ".cpp", go: ".go",
    rust: ".rs", java: ".java", kotlin: ".kt", scala: ".scala", csharp: ".cs", bash: ".sh", ruby: ".rb",
    perl: ".pl", php: ".php", lua: ".lua", r: ".R", haskell: ".hs", ocaml: ".ml", elixir: ".exs",
    erlang: ".erl", clojure: ".clj", racket: ".rkt", scheme: ".scm", commonlisp: ".lisp", d: ".d",
    nim: ".nim", crystal: ".cr", fortran: ".f90", pascal: ".pas", tcl: ".tcl", awk: ".awk",
    sql: ".sql", nasm: ".asm", cobol: ".cob", forth: ".fs", ada: ".adb",
};

// The entry point's name: main.<ext> (Main.java for Java).
export function sourceName(language) {
    if (language === "java") return "Main.java";
    return `main${EXT[language] || ".txt"}`;
}
