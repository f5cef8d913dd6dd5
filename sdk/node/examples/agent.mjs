// An agent loop in a session: write a CSV into it, analyse it with pandas in a python
// code context, draw a chart with matplotlib and save the PNG here.
//
//   node examples/agent.mjs [chart.png]      (SOULBOX_URL / SOULBOX_API_KEY from the environment)
import { writeFileSync } from 'node:fs';
import { Client } from '@soulbox/sdk';

const out = process.argv[2] ?? 'chart.png';
const client = new Client();

const csv = `month,revenue,costs
Jan,120,80
Feb,135,90
Mar,150,95
Apr,170,110
May,160,100
`;

await client.withSandbox({ template: 'code-interpreter', timeout_s: 300 }, async (sandbox) => {
  await sandbox.files.write('data/sales.csv', csv);
  const ctx = await sandbox.createContext({ language: 'python' });

  // Each step is a cell; state (df) lives on in the context between them.
  const steps = [
    `
    import pandas as pd
    df = pd.read_csv("data/sales.csv")
    df["profit"] = df["revenue"] - df["costs"]
    print(f"rows={len(df)} total_profit={df['profit'].sum()}")
    `,
    `
    best = df.loc[df["profit"].idxmax()]
    print(f"best_month={best['month']} profit={best['profit']}")
    `,
    `
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(df["month"], df["profit"], color="tab:green")
    ax.set_title("Profit by month")
    plt.show()
    `,
  ];
  for (const code of steps) {
    const run = await sandbox.runCode(code, { context: ctx, onStdout: (t) => process.stdout.write(t) });
    if (run.error) throw new Error(`${run.error.name}: ${run.error.value}\n${run.error.traceback}`);
    for (const r of run.results) {
      if (r.png) {
        writeFileSync(out, r.png);
        console.log(`chart saved to ${out} (${r.png.length} bytes)`);
      }
    }
  }
});
