package soulbox

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestDedent(t *testing.T) {
	// expected values from Python: textwrap.dedent after dropping an empty first
	// line, the code unchanged when that changes nothing (the shared rule)
	cases := []struct{ in, want string }{
		{"\n    import numpy as np\n    print(np.random.rand(3, 3))\n    ", "import numpy as np\nprint(np.random.rand(3, 3))\n"},
		{"print(1)\nprint(2)\n", "print(1)\nprint(2)\n"},
		{"\nprint(1)\n", "\nprint(1)\n"},
		{"\tif x:\n\t\ty()\n", "if x:\n\ty()\n"},
		{"  a\n\tb\n", "  a\n\tb\n"},
		{"    a\n\n      b\n", "a\n\n  b\n"},
		{"    a\n  \n    b", "a\n\nb"},
		{"def f():\n    return 1\n", "def f():\n    return 1\n"},
		{"\nprint(1)\n   \n", "print(1)\n\n"},
		{"  a\r\n  b\r\n", "a\r\nb\r\n"},
		{"\r\n  a\r\n\r\n  b", "\r\n  a\r\n\r\n  b"},
		{"   ", ""},
		{"\n\n  x\n", "\nx\n"},
		{" \t a\n \t b\n   c\n", "\t a\n\t b\n  c\n"},
		{"\n\t\t\tint main() {}\n\t\t\t", "int main() {}\n"},
	}
	for _, c := range cases {
		if got := Dedent(c.in); got != c.want {
			t.Errorf("Dedent(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNormalizeBase(t *testing.T) {
	cases := map[string]string{
		"localhost:8080":              "http://localhost:8080",
		"http://h:1/":                 "http://h:1",
		"https://example.com/prefix/": "https://example.com/prefix",
		"127.0.0.1:9":                 "http://127.0.0.1:9",
	}
	for in, want := range cases {
		got, err := normalizeBase(in)
		if err != nil || got != want {
			t.Errorf("normalizeBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := normalizeBase("ftp://x"); err == nil {
		t.Error("ftp:// accepted")
	}
	t.Setenv("SOULBOX_URL", "")
	eq(t, "default", NewClient("").BaseURL(), "http://localhost:8080")
	t.Setenv("SOULBOX_URL", "somehost:1234")
	eq(t, "env", NewClient("").BaseURL(), "http://somehost:1234")
	t.Setenv("SOULBOX_API_KEY", "k1")
	eq(t, "env key", NewClient("").APIKey(), "k1")
	eq(t, "option key", NewClient("", WithAPIKey("k2")).APIKey(), "k2")
}

func readSpec(t *testing.T) string {
	b, err := os.ReadFile("../../api/openapi.yaml")
	must(t, err)
	return string(b)
}

// Every native route of api/openapi.yaml has an SDK method, and the SDK names no other.
func TestRoutesMatchSpec(t *testing.T) {
	spec := readSpec(t)
	var want []string
	pathRe := regexp.MustCompile(`^  (/\S*):\s*$`)
	methodRe := regexp.MustCompile(`^    (get|put|post|delete|patch|head|options):`)
	inPaths, cur := false, ""
	for _, line := range strings.Split(spec, "\n") {
		if line == "paths:" {
			inPaths = true
			continue
		}
		if inPaths && len(line) > 0 && line[0] != ' ' {
			break
		}
		if m := pathRe.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if m := methodRe.FindStringSubmatch(line); m != nil && cur != "" {
			if cur == "/health" || cur == "/metrics" || (strings.HasPrefix(cur, "/api/") && !strings.HasPrefix(cur, "/api/v2/")) || strings.HasPrefix(cur, "/fn/") {
				want = append(want, strings.ToUpper(m[1])+" "+cur)
			}
		}
	}
	if len(want) < 30 {
		t.Fatalf("found only %d native routes in the spec: parser broken?", len(want))
	}
	have := Routes()
	sort.Strings(want)
	sort.Strings(have)
	missing, extra := diff(want, have), diff(have, want)
	if len(missing) > 0 {
		t.Errorf("routes in api/openapi.yaml without an SDK method: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("SDK routes that api/openapi.yaml lacks: %v", extra)
	}
}

func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	var out []string
	for _, x := range a {
		if !in[x] {
			out = append(out, x)
		}
	}
	return out
}

func TestVersionMatchesSpec(t *testing.T) {
	m := regexp.MustCompile(`(?m)^info:\n(?:  .*\n)*?  version: *(\S+)`).FindStringSubmatch(readSpec(t))
	if m == nil {
		t.Fatal("no info.version in the spec")
	}
	eq(t, "Version", Version, m[1])
}

func TestAPIDocUpToDate(t *testing.T) {
	out, err := exec.Command("sh", "scripts/gen_api.sh", "-").Output()
	must(t, err)
	have, err := os.ReadFile("API.md")
	must(t, err)
	if string(have) != string(out) {
		t.Fatal("API.md is out of date: run scripts/gen_api.sh")
	}
}

// stub starts a local HTTP server counting the TCP connections it accepts.
func stub(t *testing.T, h http.HandlerFunc) (*httptest.Server, *int32) {
	var conns int32
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			atomic.AddInt32(&conns, 1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s, &conns
}

const okResult = `{"stdout":"1\n","stderr":"","exit_code":0,"execution_time":"1ms","status":"ok","signal":null,"wall_time_ms":1,"cpu_time_ms":1,"memory_kb":1,"truncated":false,"id":"x"}`

func TestRetryAfterSeconds(t *testing.T) {
	var calls int32
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.Header().Set("X-Request-Id", "rl-1")
			w.WriteHeader(429)
			w.Write([]byte(`{"error":{"code":"rate_limited","message":"slow down"}}`))
			return
		}
		w.Write([]byte(okResult))
	})
	c := NewClient(s.URL, WithAPIKey("k"))
	start := time.Now()
	r, err := c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "print(1)"})
	must(t, err)
	el := time.Since(start)
	eq(t, "stdout", r.Stdout, "1\n")
	eq(t, "calls", atomic.LoadInt32(&calls), 2)
	if el < 950*time.Millisecond || el > 3*time.Second {
		t.Fatalf("waited %v, want about 1s (Retry-After: 1)", el)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	var calls int32
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) == 1 {
			w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
			w.WriteHeader(503)
			w.Write([]byte(`{"error":{"code":"unavailable","message":"queue full"}}`))
			return
		}
		w.Write([]byte(`{"status":"ok","version":"0.1.0","uptime_s":1,"active_sandboxes":0,"running":0,"queued":0,"cgroup":"v2"}`))
	})
	c := NewClient(s.URL)
	start := time.Now()
	h, err := c.Health(context.Background())
	must(t, err)
	el := time.Since(start)
	eq(t, "status", h.Status, "ok")
	eq(t, "calls", atomic.LoadInt32(&calls), 2)
	// an HTTP date has 1 s resolution: 2 s from now is 1 to 2 s away
	if el < 900*time.Millisecond || el > 3500*time.Millisecond {
		t.Fatalf("waited %v, want 1-2 s (Retry-After as an HTTP date)", el)
	}
}

func TestRetriesExhausted(t *testing.T) {
	var calls int32
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt32(&calls, 1)
		w.Header().Set("Retry-After", "0")
		w.Header().Set("X-Request-Id", "req-42")
		w.WriteHeader(429)
		w.Write([]byte(`{"error":{"code":"rate_limited","message":"too many requests"}}`))
	})
	c := NewClient(s.URL, WithMaxRetries(2))
	_, err := c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "print(1)"})
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal("not a *Error")
	}
	eq(t, "code", e.Code, "rate_limited")
	eq(t, "message", e.Message, "too many requests")
	eq(t, "status", e.Status, 429)
	eq(t, "request id", e.RequestID, "req-42")
	eq(t, "calls", atomic.LoadInt32(&calls), 3)

	atomic.StoreInt32(&calls, 0)
	_, err = NewClient(s.URL, WithMaxRetries(0)).Languages(context.Background())
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	eq(t, "calls without retries", atomic.LoadInt32(&calls), 1)
}

func TestRetryBackoffWithoutRetryAfter(t *testing.T) {
	var calls int32
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		if atomic.AddInt32(&calls, 1) <= 2 {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{"templates":[]}`))
	})
	start := time.Now()
	_, err := NewClient(s.URL).Templates(context.Background())
	must(t, err)
	el := time.Since(start)
	eq(t, "calls", atomic.LoadInt32(&calls), 3)
	if el < 1400*time.Millisecond || el > 3*time.Second { // 0.5 s + 1 s
		t.Fatalf("waited %v, want about 1.5 s", el)
	}
}

func TestConnectionReuse(t *testing.T) {
	s, conns := stub(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(okResult))
	})
	c := NewClient(s.URL)
	for i := 0; i < 10; i++ {
		_, err := c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "print(1)"})
		must(t, err)
	}
	_, err := c.GetExecution(context.Background(), "x")
	must(t, err)
	eq(t, "TCP connections for 11 calls", atomic.LoadInt32(conns), 1)
}

func TestClientTimeout(t *testing.T) {
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
		w.Write([]byte(okResult))
	})
	c := NewClient(s.URL, WithTimeout(300*time.Millisecond))
	start := time.Now()
	_, err := c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "print(1)"})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	var e *Error
	errors.As(err, &e)
	eq(t, "status", e.Status, 0)
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("took %v", el)
	}
	// the context's deadline counts as well
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = NewClient(s.URL).Execute(ctx, ExecuteRequest{Language: "python", Code: "print(1)"})
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout wrapping context.DeadlineExceeded", err)
	}
}

func TestConnectionError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close()
	c := NewClient(addr, WithMaxRetries(1))
	start := time.Now()
	_, err = c.Health(context.Background())
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("err = %v, want ErrConnection", err)
	}
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Fatalf("a refused GET was not retried (%v)", el)
	}
	start = time.Now()
	_, err = c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "1"})
	if !errors.Is(err, ErrConnection) {
		t.Fatalf("err = %v, want ErrConnection", err)
	}
	if el := time.Since(start); el > 400*time.Millisecond {
		t.Fatalf("a refused POST was retried (%v)", el)
	}
}

func TestDedentSentAndRequestShape(t *testing.T) {
	var body string
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, r.ContentLength)
		r.Body.Read(b)
		body = string(b)
		eq(t, "auth", r.Header.Get("Authorization"), "Bearer sekrit")
		eq(t, "content-type", r.Header.Get("Content-Type"), "application/json")
		w.Write([]byte(okResult))
	})
	c := NewClient(s.URL, WithAPIKey("sekrit"))
	_, err := c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "\n    x = 1\n    print(x)\n"})
	must(t, err)
	eq(t, "body", body, `{"language":"python","code":"x = 1\nprint(x)\n"}`)
	_, err = c.Execute(context.Background(), ExecuteRequest{Language: "python", Code: "\n    x = 1\n", NoDedent: true,
		TestCases: []TestCase{{Stdin: "1", ExpectedOutput: ""}, {RunOnly: true}}})
	must(t, err)
	eq(t, "body", body, `{"language":"python","code":"\n    x = 1\n","test_cases":[{"stdin":"1","expected_output":""},{}]}`)
}

func TestIsolationSentOnlyWhenGiven(t *testing.T) {
	var bodies []string
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if r.URL.Path == "/api/sandboxes" {
			w.Write([]byte(`{"id":"s1","isolation":"microvm"}`))
			return
		}
		w.Write([]byte(okResult))
	})
	c, ctx := NewClient(s.URL), context.Background()
	_, err := c.Execute(ctx, ExecuteRequest{Language: "python", Code: "1", Isolation: "microvm"})
	must(t, err)
	_, err = c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "python", Code: "1", Isolation: "namespaces"}})
	must(t, err)
	sb, err := c.CreateSandbox(ctx, SandboxRequest{Template: "base", Isolation: "microvm"})
	must(t, err)
	eq(t, "session isolation", sb.Isolation, "microvm")
	_, err = c.CreateSandbox(ctx, SandboxRequest{Template: "base"})
	must(t, err)
	eq(t, "bodies", strings.Join(bodies, " "), `{"language":"python","code":"1","isolation":"microvm"} `+
		`{"language":"python","code":"1","isolation":"namespaces"} {"template":"base","isolation":"microvm"} {"template":"base"}`)

	// Stream: in the execute message
	msg := make(chan string, 1)
	url := wsServer(t, func(n int, p *wsPeer) {
		_, b := p.read(t)
		msg <- string(b)
		p.text(`{"type":"error","error":{"code":"rate_limited","message":"slow down"}}`)
		p.close(4429, "rate limited")
	})
	_, err = NewClient(url, WithAPIKey("k"), WithMaxRetries(0)).Stream(ctx, ExecuteRequest{Language: "python", Code: "1", Isolation: "microvm"})
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	eq(t, "execute message", <-msg, `{"type":"execute","language":"python","code":"1","isolation":"microvm"}`)
}

func TestCompileArgsSentOnlyWhenGiven(t *testing.T) {
	var bodies []string
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.Write([]byte(okResult))
	})
	c, ctx := NewClient(s.URL), context.Background()
	_, err := c.Execute(ctx, ExecuteRequest{Language: "c", Code: "x", Args: []string{"a"}, CompileArgs: []string{"-O0", "-DDEBUG"}})
	must(t, err)
	_, err = c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "cpp", Code: "x", CompileArgs: []string{"-std=c++20"}}})
	must(t, err)
	_, err = c.Execute(ctx, ExecuteRequest{Language: "c", Code: "x"})
	must(t, err)
	eq(t, "bodies", strings.Join(bodies, " "), `{"language":"c","code":"x","args":["a"],"compile_args":["-O0","-DDEBUG"]} `+
		`{"language":"cpp","code":"x","compile_args":["-std=c++20"]} {"language":"c","code":"x"}`)

	// Stream: in the execute message
	msg := make(chan string, 1)
	url := wsServer(t, func(n int, p *wsPeer) {
		_, b := p.read(t)
		msg <- string(b)
		p.text(`{"type":"error","error":{"code":"rate_limited","message":"slow down"}}`)
		p.close(4429, "rate limited")
	})
	_, err = NewClient(url, WithAPIKey("k"), WithMaxRetries(0)).Stream(ctx, ExecuteRequest{Language: "c", Code: "x", CompileArgs: []string{"-DANSWER=42"}})
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	eq(t, "execute message", <-msg, `{"type":"execute","language":"c","code":"x","compile_args":["-DANSWER=42"]}`)
}

func TestCompileLimitsSentOnlyWhenGiven(t *testing.T) {
	var bodies []string
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.Write([]byte(okResult))
	})
	c, ctx := NewClient(s.URL), context.Background()
	_, err := c.Execute(ctx, ExecuteRequest{Language: "c", Code: "x", CompileArgs: []string{"-O0"}, Limits: &Limits{WallTimeMs: 900},
		CompileLimits: &CompileLimits{WallTimeMs: 700, CPUTimeMs: 600, MemoryMB: 64}})
	must(t, err)
	_, err = c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "cpp", Code: "x", CompileLimits: &CompileLimits{MemoryMB: 256}}})
	must(t, err)
	_, err = c.Execute(ctx, ExecuteRequest{Language: "c", Code: "x", Limits: &Limits{MemoryMB: 128}})
	must(t, err)
	_, err = c.Execute(ctx, ExecuteRequest{Language: "c", Code: "x", CompileLimits: &CompileLimits{}})
	must(t, err)
	eq(t, "bodies", strings.Join(bodies, " "), `{"language":"c","code":"x","compile_args":["-O0"],"limits":{"wall_time_ms":900},`+
		`"compile_limits":{"wall_time_ms":700,"cpu_time_ms":600,"memory_mb":64}} `+
		`{"language":"cpp","code":"x","compile_limits":{"memory_mb":256}} {"language":"c","code":"x","limits":{"memory_mb":128}} `+
		`{"language":"c","code":"x","compile_limits":{}}`)

	// Stream: in the execute message
	msg := make(chan string, 1)
	url := wsServer(t, func(n int, p *wsPeer) {
		_, b := p.read(t)
		msg <- string(b)
		p.text(`{"type":"error","error":{"code":"rate_limited","message":"slow down"}}`)
		p.close(4429, "rate limited")
	})
	_, err = NewClient(url, WithAPIKey("k"), WithMaxRetries(0)).Stream(ctx, ExecuteRequest{Language: "c", Code: "x",
		CompileLimits: &CompileLimits{WallTimeMs: 700}})
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	eq(t, "execute message", <-msg, `{"type":"execute","language":"c","code":"x","compile_limits":{"wall_time_ms":700}}`)
}

func TestClusterAndHealthStore(t *testing.T) {
	const node = `{"id":"n1","name":"n1","state":"up","self":true,"capacity":8,"max_queue":256,"running":1,` +
		`"queued":0,"languages":["bash","python"],"started_ms":1700000000000,"heartbeat_age_ms":0}`
	const cluster = `{"store":"sqlite","node":"n1","name":"n1","database":"up","queued":0,"nodes":[` + node + `]}`
	var seen []string
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		if r.URL.Path == "/api/cluster" {
			w.Write([]byte(cluster))
			return
		}
		w.Write([]byte(`{"status":"degraded","version":"0.1.0","store":"postgres","cluster":{"store":"postgres",` +
			`"node":"n1","name":"n1","database":"unreachable","error":"timeout","queued":2,"nodes":[` + node + `,` +
			`{"id":"n2","name":"n2","state":"lost","self":false,"capacity":4,"running":0,"queued":0,"languages":[],` +
			`"heartbeat_age_ms":31000,"url":"http://10.0.0.2:8080","reason":"no heartbeat"}]}}`))
	})
	c, ctx := NewClient(s.URL, WithAPIKey("k")), context.Background()
	cl, err := c.Cluster(ctx)
	must(t, err)
	eq(t, "cluster", []interface{}{cl.Store, cl.Node, cl.Name, cl.Database, cl.Error, cl.Queued, len(cl.Nodes)},
		[]interface{}{"sqlite", "n1", "n1", "up", "", 0, 1})
	n := cl.Nodes[0]
	eq(t, "node", []interface{}{n.ID, n.Name, n.State, n.Self, n.Capacity, n.MaxQueue, n.Running, n.Queued,
		strings.Join(n.Languages, ","), n.StartedMs, n.HeartbeatAgeMs, n.URL, n.Reason},
		[]interface{}{"n1", "n1", "up", true, 8, 256, 1, 0, "bash,python", int64(1700000000000), int64(0), "", ""})
	h, err := c.Health(ctx)
	must(t, err)
	eq(t, "health", []interface{}{h.Status, h.Store, h.Cluster != nil}, []interface{}{"degraded", "postgres", true})
	eq(t, "health cluster", []interface{}{h.Cluster.Database, h.Cluster.Error, h.Cluster.Queued, len(h.Cluster.Nodes)},
		[]interface{}{"unreachable", "timeout", 2, 2})
	lost := h.Cluster.Nodes[1]
	eq(t, "lost node", []interface{}{lost.State, lost.Self, lost.URL, lost.Reason, lost.HeartbeatAgeMs},
		[]interface{}{"lost", false, "http://10.0.0.2:8080", "no heartbeat", int64(31000)})
	eq(t, "requests", strings.Join(seen, "; "), "GET /api/cluster Bearer k; GET /health Bearer k")
}

func TestSSEReader(t *testing.T) {
	r := newSSEReader(strings.NewReader(": keepalive\n\nevent: a\ndata: {\"x\":1}\n\nevent: b\ndata: l1\ndata: l2\r\n\r\ndata: tail"))
	var got []string
	for {
		e, err := r.next()
		if err != nil {
			break
		}
		got = append(got, e.name+"="+string(e.data))
	}
	eq(t, "events", strings.Join(got, "|"), `a={"x":1}|b=l1`+"\n"+`l2|=tail`)
	_ = bufio.NewReader
}
