#!/usr/bin/python3
"""An agent loop: a session, a CSV written into it, pandas analysis in a python code
context, a matplotlib chart saved locally as PNG.

    SOULBOX_URL=... SOULBOX_API_KEY=... python3 examples/agent_csv_chart.py [OUT.png]
"""
import sys

from soulbox import Client

CSV = """month,revenue,costs
Jan,120,80
Feb,135,90
Mar,150,95
Apr,170,110
May,160,100
Jun,190,120
"""

# What an LLM agent would generate step by step; each step sees the previous ones' state.
STEPS = [
    """
    import pandas as pd
    df = pd.read_csv("data/sales.csv")
    df["profit"] = df["revenue"] - df["costs"]
    print(len(df), "rows")
    """,
    """
    print("total profit:", int(df["profit"].sum()))
    print("best month:", df.loc[df["profit"].idxmax(), "month"])
    """,
    """
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(df["month"], df["profit"], color="tab:green")
    ax.set_title("Profit by month")
    plt.show()
    """,
]


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "profit.png"
    client = Client()
    with client.create_sandbox("code-interpreter", timeout_s=300) as sandbox:
        sandbox.files.write("data/sales.csv", CSV)
        ctx = sandbox.create_context("python")
        for i, code in enumerate(STEPS, 1):
            execution = sandbox.run_code(code, context=ctx,
                                         on_stdout=lambda text: print("  |", text, end=""))
            if execution.error:
                print(f"step {i} failed: {execution.error.name}: {execution.error.value}")
                sys.exit(1)
            for result in execution.results:
                if result.png:
                    with open(out, "wb") as f:
                        f.write(result.png)
                    print(f"step {i}: saved chart {out} ({len(result.png)} bytes)")
    print("done")


if __name__ == "__main__":
    main()
