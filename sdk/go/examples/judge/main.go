// Command judge runs a C++ solution against test cases in SoulBox and prints
// each case's verdict, like an online judge.
//
//	go run ./examples/judge
package main

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/soulbox/soulbox-go"
)

const solution = `
	#include <iostream>
	#include <vector>
	int main() {
	    int n; std::cin >> n;
	    std::vector<long long> v(n);
	    long long best = 0, cur = 0;
	    for (auto &x : v) { std::cin >> x; cur = std::max(0LL, cur + x); best = std::max(best, cur); }
	    std::cout << best << "\n";
	}
	`

func main() {
	ctx := context.Background()
	client := soulbox.NewClient("") // SOULBOX_URL, else localhost:8080; SOULBOX_API_KEY if set
	cases := []soulbox.TestCase{
		{Stdin: "5\n1 -2 3 4 -1\n", ExpectedOutput: "7"},
		{Stdin: "3\n-1 -2 -3\n", ExpectedOutput: "0"},
		{Stdin: "4\n2 2 2 2\n", ExpectedOutput: "9"}, // a wrong expectation, to show wrong_answer
	}
	result, err := client.Execute(ctx, soulbox.ExecuteRequest{
		Language:  "cpp",
		Code:      solution,
		TestCases: cases,
		Limits:    &soulbox.Limits{WallTimeMs: 2000, MemoryMB: 128},
	})
	if err != nil {
		log.Fatal(err)
	}
	if result.Status == "compile_error" {
		log.Fatalf("compile error:\n%s", result.CompileOutput)
	}
	for _, tc := range result.TestCases {
		fmt.Printf("case %d: %s (%d ms) output=%q\n", tc.Index+1, tc.Verdict, tc.WallTimeMs, strings.TrimSpace(tc.Stdout))
	}
	fmt.Printf("summary: %d/%d accepted, verdict %s\n", result.Summary.Accepted, result.Summary.Total, result.Summary.Verdict)
}
