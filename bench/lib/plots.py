"""Latency distributions of each case beside its baselines (matplotlib, Agg)."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GROUPS = [
    ("python `print(1)`", [("bare", "bare"), ("hot over HTTP", "hot"),
                           ("cold over HTTP", "cold"), ("cold CLI: soulbox run",
                                                        "cli:python soulbox run"),
                           ("cold CLI: bwrap", "cli:python bwrap"),
                           ("cold CLI: firejail", "cli:python firejail")]),
    ("numpy import + zeros", [("bare", "bare_np"), ("hot over HTTP", "hot_np"),
                              ("client loop, 50 ms think", "loop_np"),
                              ("cold over HTTP", "cold_np")]),
    ("`bash -c true`", [("bare", "cli:bash bare"), ("cold CLI: soulbox run",
                                                    "cli:bash soulbox run"),
                        ("cold CLI: bwrap", "cli:bash bwrap"),
                        ("cold over HTTP", "cold_bash")]),
]


def pick(R, key):
    if key.startswith("cli:"):
        st = R["cli"].get(key[4:])
    else:
        st = R.get(key)
    return st["xs"] if st else None


def draw(R, outdir):
    os.makedirs(outdir, exist_ok=True)
    fig, axes = plt.subplots(len(GROUPS), 1, figsize=(9, 9))
    for ax, (title, cases) in zip(axes, GROUPS):
        data = [(label, pick(R, key)) for label, key in cases]
        data = [(label, xs) for label, xs in data if xs]
        ax.boxplot([xs for _, xs in data], vert=False, whis=(1, 99), showfliers=False,
                   labels=[label for label, _ in data])
        for i, (_, xs) in enumerate(data, 1):
            ax.plot(xs, [i] * len(xs), "|", color="tab:blue", alpha=0.3, markersize=8)
        ax.invert_yaxis()
        ax.set_title(title, loc="left", fontsize=10)
        ax.set_xlabel("ms (box: p25-p75, median line; whiskers: p1-p99; ticks: every run)")
        ax.set_xlim(left=0)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"SoulBox latency beside its baselines, {R['runs']} runs per case, "
                 "one invocation", fontsize=11)
    fig.tight_layout()
    path = os.path.join(outdir, "bench-latency.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
