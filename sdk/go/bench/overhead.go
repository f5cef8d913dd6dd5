// Command overhead measures the SDK's per-call overhead over a raw HTTP call:
// N (default 200) executes of a trivial python program, alternating a raw
// net/http POST (keep-alive) and client.Execute, then p50/p90 of each and the
// difference, one figure a line, the last `overhead_p50_ms=<x>`.
//
// The server's run time is bimodal: a call that gets a sandbox from the warm
// pool takes a few ms, one that does not takes tens of ms. Back to back, about
// half the calls miss the pool, and the p50 falls between the two modes: the
// difference of the two p50s then mostly measures which mode each side
// happened to hit. So each timed call comes after a pause (-pause, default
// 60 ms, not timed) that lets the server refill its pool, and
// overhead_p50_ms is the median of the differences of adjacent calls (SDK
// minus raw, the order alternating) that both got a warm sandbox (the
// result's "warm" field) when at least half the pairs did; else the
// difference of the p50s among the warm calls (warm_overhead_p50_ms) when
// each side has 20; else the plain difference of the p50s
// (overhead_p50_diff_ms).
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
	pause := flag.Duration("pause", 60*time.Millisecond, "pause before each timed call (lets the server refill its warm pool)")
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
	var lastRawWarm, lastSDKWarm bool
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
		lastRawWarm = bytes.Contains(b, []byte(`"warm":true`))
	}
	sdkCall := func() {
		r, err := client.Execute(ctx, soulbox.ExecuteRequest{Language: "python", Code: "print(1)"})
		if err != nil || r.Stdout != "1\n" {
			log.Fatalf("sdk: %v %+v", err, r)
		}
		lastSDKWarm = r.Warm
	}
	for i := 0; i < 5; i++ { // warm up both connections
		rawCall()
		sdkCall()
	}
	var rawMs, sdkMs []float64
	timed := func(f func()) float64 {
		time.Sleep(*pause)
		t := time.Now()
		f()
		return float64(time.Since(t).Nanoseconds()) / 1e6
	}
	// alternate which goes first: a call runs slower right after another
	// (the previous sandbox is still being torn down)
	var diffs, coldDiffs, rawWarm, sdkWarm []float64
	warm := 0
	for i := 0; i < *n; i++ {
		var r, d float64
		if i%2 == 0 {
			r = timed(rawCall)
			d = timed(sdkCall)
		} else {
			d = timed(sdkCall)
			r = timed(rawCall)
		}
		rawMs, sdkMs = append(rawMs, r), append(sdkMs, d)
		if lastRawWarm {
			rawWarm = append(rawWarm, r)
		}
		if lastSDKWarm {
			sdkWarm = append(sdkWarm, d)
		}
		if lastRawWarm && lastSDKWarm {
			diffs = append(diffs, d-r)
		} else if !lastRawWarm && !lastSDKWarm {
			coldDiffs = append(coldDiffs, d-r)
		}
		if lastRawWarm {
			warm++
		}
		if lastSDKWarm {
			warm++
		}
	}
	if len(diffs) < 10 { // hardly any warm pool: use the pairs that both missed it
		diffs = append(diffs, coldDiffs...)
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
	*pause = 0
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

	fmt.Printf("runs=%d\n", *n)
	fmt.Printf("warm_ratio=%.2f\n", float64(warm)/float64(2*(*n)))
	fmt.Printf("paired_samples=%d\n", len(diffs))
	fmt.Printf("raw_p50_ms=%.3f\n", pct(rawMs, 0.5))
	fmt.Printf("raw_p90_ms=%.3f\n", pct(rawMs, 0.9))
	fmt.Printf("sdk_p50_ms=%.3f\n", pct(sdkMs, 0.5))
	fmt.Printf("sdk_p90_ms=%.3f\n", pct(sdkMs, 0.9))
	fmt.Printf("overhead_p90_diff_ms=%.3f\n", pct(sdkMs, 0.9)-pct(rawMs, 0.9))
	fmt.Printf("overhead_p50_diff_ms=%.3f\n", pct(sdkMs, 0.5)-pct(rawMs, 0.5))
	if len(rawWarm) > 0 && len(sdkWarm) > 0 {
		fmt.Printf("warm_raw_p50_ms=%.3f\n", pct(rawWarm, 0.5))
		fmt.Printf("warm_sdk_p50_ms=%.3f\n", pct(sdkWarm, 0.5))
		fmt.Printf("warm_overhead_p50_ms=%.3f\n", pct(sdkWarm, 0.5)-pct(rawWarm, 0.5))
	}
	if len(diffs) > 0 {
		fmt.Printf("paired_overhead_p50_ms=%.3f\n", pct(diffs, 0.5))
	}
	fmt.Printf("stub_runs=%d\n", len(stubRaw))
	fmt.Printf("stub_raw_p50_ms=%.3f\n", pct(stubRaw, 0.5))
	fmt.Printf("stub_sdk_p50_ms=%.3f\n", pct(stubSDK, 0.5))
	fmt.Printf("stub_overhead_p50_ms=%.3f\n", pct(stubSDK, 0.5)-pct(stubRaw, 0.5))
	overhead := pct(sdkMs, 0.5) - pct(rawMs, 0.5)
	switch {
	case len(diffs) >= 50 && len(diffs) >= *n/2:
		overhead = pct(diffs, 0.5)
	case len(rawWarm) >= 20 && len(sdkWarm) >= 20:
		overhead = pct(sdkWarm, 0.5) - pct(rawWarm, 0.5)
	}
	fmt.Printf("overhead_p50_ms=%.3f\n", overhead)
}
