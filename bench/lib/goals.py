"""The speed goals of issue 12, each with what this invocation measured and
whether it is met. Ratios are against baselines measured in the same run."""


def goals(R):
    """[(goal, measured text, met)] from run.py's measurements."""
    b, bn, cli = R["bare"], R["bare_np"], R["cli"]
    out = []

    def ratio(goal, value, base, limit, what="bare"):
        r = value / base
        out.append((goal, f"{value:.1f} / {base:.1f} ms = {r:.2f}x {what}", r <= limit))

    def plus(goal, value, base, limit, what):
        d = value - base
        out.append((goal, f"{value:.1f} - {base:.1f} ms = {d:+.1f} ms vs {what}", d <= limit))

    ratio("hot `print(1)` over HTTP: p50 <= 0.35x bare p50", R["hot"]["p50"], b["p50"], 0.35)
    ratio("hot `print(1)` over HTTP: p99 <= 0.6x bare p50", R["hot"]["p99"], b["p50"], 0.6)
    s = R["setup"]["p50"]
    out.append(("warm claim `setup_ms` p50 <= 0.5 ms", f"{s:.2f} ms", s <= 0.5))
    ratio("hot numpy p50 <= 0.1x bare numpy", R["hot_np"]["p50"], bn["p50"], 0.1, "bare numpy")
    ratio("numpy client loop (50 ms think time) p50 <= 0.1x bare numpy", R["loop_np"]["p50"],
          bn["p50"], 0.1, "bare numpy")
    w = R["loop_warm"] / 10
    out.append(("numpy client loop >= 90% warm", f"{R['loop_warm']}/10 warm", w >= 0.9))
    for lang in ("python", "bash"):
        bw = cli.get(f"{lang} bwrap")
        sb = cli[f"{lang} soulbox run"]
        http = R["cold"] if lang == "python" else R["cold_bash"]
        if bw:
            plus(f"cold CLI {lang}: p50 <= bwrap p50 + 2 ms", sb["p50"], bw["p50"], 2, "bwrap")
            plus(f"cold HTTP {lang}: p50 <= bwrap p50 + 2 ms", http["p50"], bw["p50"], 2,
                 "bwrap")
        bare = cli[f"{lang} bare"]
        spread = bare["p90"] - bare["p50"]
        for name, st in ((f"cold CLI {lang}", sb), (f"cold HTTP {lang}", http)):
            plus(f"{name}: p90 <= p50 + 3 ms", st["p90"], st["p50"], 3,
                 f"its p50 (the bare program's own: {spread:+.1f} ms)")
    plus("python inside (`started`->`exited`) p50 <= bare + 1 ms", R["inside"]["python"]["p50"],
         cli["python bare"]["p50"], 1, "the bare process")
    r = R["http_rate"] / R["bare_rate"]
    out.append(("executions/s at concurrency 16 >= 0.85x bare",
                f"{R['http_rate']:.1f} / {R['bare_rate']:.1f} per s = {r:.2f}x", r >= 0.85))
    sl = R["sleeps"]
    out.append(("1000 concurrent `sleep 1` <= 12 s, all ok",
                f"{sl['ok']}/{sl['n']} ok in {sl['total_s']} s",
                sl["ok"] == sl["n"] and sl["total_s"] <= 12))
    for key, name in (("cpu_hot", "hot python"), ("cpu_cold", "cold python"),
                      ("cpu_cold_bash", "cold bash")):
        out.append((f"SoulBox's own CPU per execution ({name}) <= 1 ms", f"{R[key]:.2f} ms",
                    R[key] <= 1))
    return out


def print_goals(R):
    rows = goals(R)
    print(f"\n## Goals ({sum(m for _, _, m in rows)} of {len(rows)} met)\n")
    print("| goal | measured | |\n|---|---|---|")
    for g, m, ok in rows:
        print(f"| {g} | {m} | {'met' if ok else 'NOT MET'} |")
