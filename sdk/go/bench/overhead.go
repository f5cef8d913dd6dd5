// Command overhead measures the SDK's per-call overhead over a raw HTTP call:
// N (default 200) executes of a trivial python program, alternating a raw
// net/http POST (keep-alive) and client.Execute, then p50/p90 of each and the
// difference, one figure a line, the last `overhead_p50_ms=<x>`.
//
// The program's own run time varies by milliseconds from call to call on a
// busy machine, far more than the SDK costs, so the difference of the two
// p50s is noisy. overhead_p50_ms is therefore the median of the paired
// differences (each SDK call minus the raw call next to it, the order alternating), which
// cancels slow drifts; the p50 difference is printed too (overhead_p50_diff_ms).
// Then the same comparison is made against a local stub that replays the
// server's real answer (stub_*), which shows the client-side cost alone.
//
//	SOULBOX_URL=... SOULBOX_API_KEY=... go run ./bench/overhead.go [-n 200]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/soulbox/soulbox-go"
)

func pct(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p*float64(len(s)-1) + 0.5)
	return s[i]
}

func main() {
	n := flag.Int("n", 200, "executes of each kind")
	flag.Parse()
	base := os.Getenv("SOULBOX_URL")
	if base == "" {
		base = "http://localhost:8080"
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	base = strings.TrimRight(base, "/")
	key := os.Getenv("SOULBOX_API_KEY")
	ctx := context.Background()
	client := soulbox.NewClient(base, soulbox.WithAPIKey(key))
	raw := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	body := []byte(`{"language":"python","code":"print(1)"}`)
	rawCall := func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/execute", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := raw.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"stdout":"1\n"`)) {
			log.Fatalf("raw: %d %s", resp.StatusCode, b)
		}
	}
	sdkCall := func() {
		r, err := client.Execute(ctx, soulbox.ExecuteRequest{Language: "python", Code: "print(1)"})
		if err != nil || r.Stdout != "1\n" {
			log.Fatalf("sdk: %v %+v", err, r)
		}
	}
	for i := 0; i < 5; i++ { // warm up both connections
		rawCall()
		sdkCall()
	}
	var rawMs, sdkMs []float64
	timed := func(f func()) float64 {
		t := time.Now()
		f()
		return float64(time.Since(t).Nanoseconds()) / 1e6
	}
	// alternate which goes first: a call runs slower right after another
	// (the previous sandbox is still being torn down)
	for i := 0; i < *n; i++ {
		if i%2 == 0 {
			rawMs = append(rawMs, timed(rawCall))
			sdkMs = append(sdkMs, timed(sdkCall))
		} else {
			sdkMs = append(sdkMs, timed(sdkCall))
			rawMs = append(rawMs, timed(rawCall))
		}
	}
	// the same comparison against a local stub replaying the server's answer
	r, err := client.Execute(ctx, soulbox.ExecuteRequest{Language: "python", Code: "print(1)"})
	if err != nil {
		log.Fatal(err)
	}
	answer := []byte(r.Raw)
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	defer stub.Close()
	base, client = stub.URL, soulbox.NewClient(stub.URL, soulbox.WithAPIKey(key))
	var stubRaw, stubSDK []float64
	for i := 0; i < 10*(*n); i++ {
		if i%2 == 0 {
			stubRaw = append(stubRaw, timed(rawCall))
			stubSDK = append(stubSDK, timed(sdkCall))
		} else {
			stubSDK = append(stubSDK, timed(sdkCall))
			stubRaw = append(stubRaw, timed(rawCall))
		}
	}

	diffs := make([]float64, len(rawMs))
	for i := range rawMs {
		diffs[i] = sdkMs[i] - rawMs[i]
	}
	fmt.Printf("runs=%d\n", *n)
	fmt.Printf("raw_p50_ms=%.3f\n", pct(rawMs, 0.5))
	fmt.Printf("raw_p90_ms=%.3f\n", pct(rawMs, 0.9))
	fmt.Printf("sdk_p50_ms=%.3f\n", pct(sdkMs, 0.5))
	fmt.Printf("sdk_p90_ms=%.3f\n", pct(sdkMs, 0.9))
	fmt.Printf("overhead_p90_diff_ms=%.3f\n", pct(sdkMs, 0.9)-pct(rawMs, 0.9))
	fmt.Printf("overhead_p50_diff_ms=%.3f\n", pct(sdkMs, 0.5)-pct(rawMs, 0.5))
	fmt.Printf("stub_runs=%d\n", len(stubRaw))
	fmt.Printf("stub_raw_p50_ms=%.3f\n", pct(stubRaw, 0.5))
	fmt.Printf("stub_sdk_p50_ms=%.3f\n", pct(stubSDK, 0.5))
	fmt.Printf("stub_overhead_p50_ms=%.3f\n", pct(stubSDK, 0.5)-pct(stubRaw, 0.5))
	fmt.Printf("overhead_p50_ms=%.3f\n", pct(diffs, 0.5))
}
