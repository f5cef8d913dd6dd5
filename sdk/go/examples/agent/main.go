// Command agent is a small agent loop over a session: it creates a
// code-interpreter sandbox, writes a CSV file into it, analyses the data with
// pandas in a Python code context step by step (each step's output feeds the
// next decision), draws a matplotlib chart and saves the PNG locally.
//
//	go run ./examples/agent [chart.png]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/soulbox/soulbox-go"
)

const salesCSV = `month,region,revenue
2026-01,north,120
2026-01,south,95
2026-02,north,135
2026-02,south,80
2026-03,north,150
2026-03,south,110
`

func main() {
	out := "chart.png"
	if len(os.Args) > 1 {
		out = os.Args[1]
	}
	ctx := context.Background()
	client := soulbox.NewClient("")

	sb, err := client.CreateSandbox(ctx, soulbox.SandboxRequest{Template: "code-interpreter", TimeoutS: 300})
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close() // the session ends with the program
	fmt.Println("sandbox", sb.ID, "template", sb.Template)

	if _, err := sb.Files.WriteText(ctx, "data/sales.csv", salesCSV); err != nil {
		log.Fatal(err)
	}
	cc, err := sb.CreateContext(ctx, soulbox.ContextRequest{Language: "python"})
	if err != nil {
		log.Fatal(err)
	}
	run := func(code string) *soulbox.CodeExecution {
		ex, err := sb.RunCode(ctx, soulbox.RunCodeRequest{ContextID: cc.ID, Code: code})
		if err != nil {
			log.Fatal(err)
		}
		if ex.Error != nil {
			log.Fatalf("%s: %s\n%s", ex.Error.Name, ex.Error.Value, ex.Error.Traceback)
		}
		return ex
	}

	// step 1: look at the data
	ex := run(`
		import pandas as pd
		df = pd.read_csv("data/sales.csv")
		print("rows:", len(df))
		df.groupby("region")["revenue"].sum().to_dict()
		`)
	fmt.Print(ex.Stdout())
	fmt.Println("revenue by region:", string(ex.Results[0].JSON))

	// step 2: the agent decides what to chart from what it saw
	var byRegion map[string]float64
	if err := json.Unmarshal(ex.Results[0].JSON, &byRegion); err != nil {
		log.Fatal(err)
	}
	best := ""
	for region, total := range byRegion {
		if best == "" || total > byRegion[best] {
			best = region
		}
	}
	fmt.Println("best region:", best)
	ex = run(fmt.Sprintf(`
		import matplotlib.pyplot as plt
		pivot = df.pivot(index="month", columns="region", values="revenue")
		ax = pivot.plot(kind="bar", title="Revenue by month (best region: %s)")
		ax.set_ylabel("revenue")
		print("growth of %s:", int(pivot[%q].iloc[-1] - pivot[%q].iloc[0]))
		plt.show()
		`, best, best, best, best))
	fmt.Print(ex.Stdout())
	for _, r := range ex.Results {
		if len(r.PNG) > 0 {
			if err := os.WriteFile(out, r.PNG, 0o644); err != nil {
				log.Fatal(err)
			}
			fmt.Printf("saved %s (%d bytes PNG)\n", out, len(r.PNG))
		}
	}
}
