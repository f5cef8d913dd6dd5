package soulbox

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestExecuteHello(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	r, err := c.Execute(ctx, ExecuteRequest{Language: "python", Code: `
		import sys
		print("Hello, SoulBox!")
		print(2 + 2)
		print("err", file=sys.stderr)
		`})
	must(t, err)
	eq(t, "stdout", r.Stdout, "Hello, SoulBox!\n4\n")
	eq(t, "stderr", r.Stderr, "err\n")
	eq(t, "status", r.Status, "ok")
	eq(t, "exit code", r.ExitCodeOr(-99), 0)
	if r.Signal != nil || r.Truncated || len(r.ID) != 36 || !strings.HasSuffix(r.ExecutionTime, "ms") {
		t.Fatalf("unexpected result %+v", r)
	}
	if !strings.Contains(string(r.Raw), `"status":"ok"`) {
		t.Fatalf("raw: %s", r.Raw)
	}
}

func TestExecuteFields(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	r, err := c.Execute(ctx, ExecuteRequest{
		Language: "python",
		Files: []File{
			{Name: "main.py", Content: "import os, sys\nfrom lib.util import twice\nprint(twice(int(sys.stdin.read())), sys.argv[1:], os.environ['GREETING'])\nopen('out.txt','w').write('made')\nsys.exit(3)\n"},
			{Name: "lib/__init__.py", Content: ""},
			{Name: "lib/util.py", Content: "ZGVmIHR3aWNlKHgpOgogICAgcmV0dXJuIDIgKiB4Cg==", Encoding: "base64"},
		},
		Stdin:       "21",
		Args:        []string{"a", "b c"},
		Env:         map[string]string{"GREETING": "hi"},
		Limits:      &Limits{WallTimeMs: 5000, MemoryMB: 256},
		ReturnFiles: []string{"*.txt"},
	})
	must(t, err)
	eq(t, "stdout", r.Stdout, "42 ['a', 'b c'] hi\n")
	eq(t, "status", r.Status, "runtime_error")
	eq(t, "exit code", *r.ExitCode, 3)
	if len(r.Files) != 1 {
		t.Fatalf("files: %+v", r.Files)
	}
	eq(t, "returned file", r.Files[0].Name+"="+string(r.Files[0].Content), "out.txt=made")
	eq(t, "size", r.Files[0].Size, 4)
}

func TestExecuteStatuses(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	r, err := c.Execute(ctx, ExecuteRequest{Language: "python", Code: "while True: pass", Limits: &Limits{WallTimeMs: 300, CPUTimeMs: 300}})
	must(t, err)
	eq(t, "status", r.Status, "time_limit_exceeded")
	r, err = c.Execute(ctx, ExecuteRequest{Language: "c", Code: "int main(void) { return x; }"})
	must(t, err)
	eq(t, "status", r.Status, "compile_error")
	if !strings.Contains(r.CompileOutput, "main.c:1:25: error: ‘x’ undeclared") {
		t.Fatalf("compile output: %q", r.CompileOutput)
	}
}

func TestExecuteCompileArgs(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	const code = "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", ANSWER); return 0; }\n"
	r, err := c.Execute(ctx, ExecuteRequest{Language: "c", Code: code, CompileArgs: []string{"-DANSWER=42"}})
	must(t, err)
	eq(t, "stdout", r.Stdout, "42\n")
	eq(t, "status", r.Status, "ok")
	r, err = c.Execute(ctx, ExecuteRequest{Language: "c", Code: code})
	must(t, err)
	eq(t, "status without", r.Status, "compile_error")
	s, err := c.Stream(ctx, ExecuteRequest{Language: "c", Code: code, CompileArgs: []string{"-DANSWER=43"}})
	must(t, err)
	defer s.Close()
	sr, err := s.Wait()
	must(t, err)
	eq(t, "streamed stdout", sr.Stdout, "43\n")
	h, err := c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "c", Code: code, CompileArgs: []string{"-DANSWER=44"}}})
	must(t, err)
	ex, err := c.WaitExecution(ctx, h.ID, &WaitOptions{PollInterval: 50 * time.Millisecond})
	must(t, err)
	eq(t, "async stdout", ex.Stdout, "44\n")
	_, err = c.Execute(ctx, ExecuteRequest{Language: "python", Code: "print(1)", CompileArgs: []string{"-O0"}})
	var e *Error
	if !errors.Is(err, ErrInvalidRequest) || !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	eq(t, "status", e.Status, 400)
	eq(t, "code", e.Code, "invalid_argument")
	eq(t, "message", e.Message, "compile_args: python has no compile step")
}

func TestExecuteCompileLimits(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	// the compiler driver waits 2 s before each tool it runs (which then never runs)
	req := ExecuteRequest{Language: "c", Code: "int main(void) { return 0; }\n",
		CompileArgs: []string{"-wrapper", "/bin/sh,-c,sleep 2"}, CompileLimits: &CompileLimits{WallTimeMs: 700}}
	r, err := c.Execute(ctx, req)
	must(t, err)
	eq(t, "status", r.Status, "compile_error")
	if r.Compile == nil {
		t.Fatalf("no compile result: %s", r.Raw)
	}
	eq(t, "compile status", r.Compile.Status, "time_limit_exceeded")
	eq(t, "message", r.Message, "compilation failed: wall time limit of 700 ms exceeded")
	h, err := c.Submit(ctx, SubmitRequest{ExecuteRequest: req})
	must(t, err)
	ex, err := c.WaitExecution(ctx, h.ID, &WaitOptions{PollInterval: 50 * time.Millisecond})
	must(t, err)
	eq(t, "async status", ex.Status, "compile_error")
	eq(t, "async message", ex.Message, "compilation failed: wall time limit of 700 ms exceeded")
	_, err = c.Execute(ctx, ExecuteRequest{Language: "python", Code: "print(1)", CompileLimits: &CompileLimits{WallTimeMs: 5}})
	var e *Error
	if !errors.Is(err, ErrInvalidRequest) || !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	eq(t, "status", e.Status, 400)
	eq(t, "code", e.Code, "invalid_argument")
	eq(t, "message", e.Message, "compile_limits: python has no compile step")
}

func TestExecuteErrors(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	_, err := c.Execute(ctx, ExecuteRequest{Language: "cobol", Code: "x"})
	if !errors.Is(err, ErrUnknownLanguage) {
		t.Fatalf("err = %v", err)
	}
	var e *Error
	errors.As(err, &e)
	eq(t, "code", e.Code, "unknown_language")
	eq(t, "status", e.Status, 422)
	eq(t, "message", e.Message, "language: 'cobol' is not available (see GET /api/languages)")
	if len(e.RequestID) < 8 {
		t.Fatalf("request id %q", e.RequestID)
	}
	_, err = c.Execute(ctx, ExecuteRequest{Language: "python", Code: "1", Limits: &Limits{WallTimeMs: 1 << 30}})
	if !errors.Is(err, ErrInvalidRequest) || !errors.As(err, &e) || e.Code != "limit_exceeds_max" || e.Status != 400 {
		t.Fatalf("err = %v", err)
	}
	_, err = NewClient("", WithAPIKey("wrong-key-0123456789")).Execute(ctx, ExecuteRequest{Language: "python", Code: "1"})
	if !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.Code != "unauthenticated" || e.Status != 401 {
		t.Fatalf("err = %v", err)
	}
	_, err = c.GetExecution(ctx, "00000000-0000-4000-8000-000000000000")
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Code != "not_found" || e.Status != 404 {
		t.Fatalf("err = %v", err)
	}
}

func TestJudge(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	r, err := c.Execute(ctx, ExecuteRequest{
		Language: "cpp",
		Code: `
			#include <iostream>
			int main() { long a, b; std::cin >> a >> b; std::cout << a + b << "\n"; }
			`,
		TestCases: []TestCase{
			{Stdin: "1 2", ExpectedOutput: "3"},
			{Stdin: "2 2", ExpectedOutput: "5"},
			{Stdin: "5 5", RunOnly: true},
		},
	})
	must(t, err)
	if len(r.TestCases) != 3 || r.Summary == nil {
		t.Fatalf("result %s", r.Raw)
	}
	eq(t, "verdicts", r.TestCases[0].Verdict+","+r.TestCases[1].Verdict+","+r.TestCases[2].Verdict, "accepted,wrong_answer,ok")
	eq(t, "case 2 stdout", r.TestCases[2].Stdout, "10\n")
	eq(t, "summary", *r.Summary, Summary{Total: 3, Accepted: 1, Verdict: "wrong_answer"})
}

func TestSubmitWaitList(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	h, err := c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "bash", Code: "sleep 0.3; echo done"}})
	must(t, err)
	eq(t, "status", h.Status, "queued")
	e, err := c.WaitExecution(ctx, h.ID, &WaitOptions{PollInterval: 50 * time.Millisecond})
	must(t, err)
	eq(t, "stdout", e.Stdout, "done\n")
	eq(t, "status", e.Status, "ok")
	eq(t, "mode", e.Mode, "async")
	eq(t, "language", e.Language, "bash")
	if e.FinishedAt == nil || e.CreatedAt.IsZero() {
		t.Fatalf("timestamps: %+v", e)
	}
	// callback_url reaches the server (which refuses loopback destinations)
	_, err = c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "bash", Code: "echo"}, CallbackURL: "http://127.0.0.1:1/x"})
	var ce *Error
	if !errors.Is(err, ErrInvalidRequest) || !errors.As(err, &ce) ||
		ce.Message != "callback_url: 127.0.0.1 is a loopback address, refused by server.callbacks" {
		t.Fatalf("callback: %v", err)
	}
	// waiting has its own timeout
	h2, err := c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "bash", Code: "sleep 2"}})
	must(t, err)
	_, err = c.WaitExecution(ctx, h2.ID, &WaitOptions{Timeout: 300 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}

	// another user's key cannot see it
	other := NewClient("", WithAPIKey(os.Getenv("SOULBOX_TEST_OTHER_KEY")))
	if _, err := other.GetExecution(ctx, h.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other key: %v", err)
	}

	// pages of 1, newest first: the two submitted come first
	p, err := c.ListExecutions(ctx, ListOptions{Limit: 1})
	must(t, err)
	eq(t, "page size", len(p.Items), 1)
	eq(t, "newest", p.Items[0].ID, h2.ID)
	if p.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	p2, err := c.ListExecutions(ctx, ListOptions{Limit: 1, Cursor: p.NextCursor})
	must(t, err)
	eq(t, "second", p2.Items[0].ID, h.ID)
	h3, err := c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "bash", Code: "true"}})
	must(t, err)
	n, seen := 0, map[string]bool{}
	it := c.AllExecutions(ctx, 2) // three or more: at least two pages
	for it.Next() {
		seen[it.Execution().ID] = true
		n++
	}
	must(t, it.Err())
	if !seen[h.ID] || !seen[h2.ID] || !seen[h3.ID] || n != len(seen) || n < 3 {
		t.Fatalf("iterator saw %d executions (%d distinct)", n, len(seen))
	}
}

func TestServiceInfo(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	h, err := c.Health(ctx)
	must(t, err)
	eq(t, "health", h.Status, "ok")
	eq(t, "server version", h.Version, Version)
	l, err := c.Languages(ctx)
	must(t, err)
	var names []string
	for _, x := range l.Languages {
		names = append(names, x.Name)
	}
	eq(t, "languages", strings.Join(names, ","), "bash,c,cpp,go,javascript,python")
	eq(t, "health store", h.Store, "sqlite")
	cl, err := c.Cluster(ctx)
	must(t, err)
	eq(t, "cluster", []interface{}{cl.Store, cl.Database, len(cl.Nodes)}, []interface{}{"sqlite", "up", 1})
	me := cl.Nodes[0]
	eq(t, "this node", []interface{}{me.Self, me.State, me.ID}, []interface{}{true, "up", cl.Node})
	if !strings.Contains(","+strings.Join(me.Languages, ",")+",", ",python,") {
		t.Fatalf("node languages: %v", me.Languages)
	}
	m, err := c.Metrics(ctx)
	must(t, err)
	if !strings.Contains(m, "# TYPE soulbox_sessions_live gauge") {
		t.Fatalf("metrics: %.200s", m)
	}
	tp, err := c.Templates(ctx)
	must(t, err)
	found := false
	for _, x := range tp {
		if x.Name == "code-interpreter" {
			found = true
			eq(t, "default context", x.DefaultContext, "python")
		}
	}
	if !found {
		t.Fatalf("templates: %+v", tp)
	}
}

func TestStreamInteractive(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	s, err := c.Stream(ctx, ExecuteRequest{Language: "python", Code: `
		name = input("Name? ")
		print("Hello,", name, flush=True)
		rest = input()
		print("bye", rest)
		`})
	must(t, err)
	defer s.Close()
	var types []string
	var out strings.Builder
	for s.Next() {
		ev := s.Event()
		types = append(types, ev.Type)
		switch ev.Type {
		case "started":
			eq(t, "id", len(ev.ID), 36)
		case "stdout":
			out.WriteString(ev.Data)
			if strings.HasSuffix(out.String(), "Name? ") {
				must(t, s.SendStdin(ctx, "Ada\n"))
			}
			if strings.HasSuffix(out.String(), "Hello, Ada\n") {
				must(t, s.SendStdin(ctx, "now"))
				must(t, s.CloseStdin(ctx))
			}
		}
	}
	must(t, s.Err())
	eq(t, "first", types[0], "started")
	eq(t, "last", types[len(types)-1], "exit")
	eq(t, "output", out.String(), "Name? Hello, Ada\nbye now\n")
	r := s.Result()
	eq(t, "result stdout", r.Stdout, "Name? Hello, Ada\nbye now\n")
	eq(t, "status", r.Status, "ok")
	eq(t, "id", r.ID, s.ID())
	e, err := c.GetExecution(ctx, s.ID())
	must(t, err)
	eq(t, "mode", e.Mode, "interactive")
}

func TestStreamKill(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	s, err := c.Stream(ctx, ExecuteRequest{Language: "bash", Code: "echo ready; sleep 30"})
	must(t, err)
	defer s.Close()
	for s.Next() {
		if ev := s.Event(); ev.Type == "stdout" {
			eq(t, "data", ev.Data, "ready\n")
			must(t, s.Kill(ctx))
		}
	}
	r, err := s.Wait()
	must(t, err)
	eq(t, "status", r.Status, "runtime_error")
	eq(t, "signal", *r.Signal, 9)
	eq(t, "message", r.Message, "killed on request")
}

func TestStreamSignal(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	s, err := c.Stream(ctx, ExecuteRequest{Language: "python", Code: `
		import signal, sys, time
		def on_int(*_):
		    print('caught', flush=True)
		    sys.exit(3)
		signal.signal(signal.SIGINT, on_int)
		print('ready', flush=True)
		time.sleep(30)
		`})
	must(t, err)
	defer s.Close()
	var out strings.Builder
	for s.Next() {
		if ev := s.Event(); ev.Type == "stdout" {
			out.WriteString(ev.Data)
			if out.String() == "ready\n" {
				must(t, s.Signal(ctx, "SIGINT"))
			}
		}
	}
	r, err := s.Wait()
	must(t, err)
	eq(t, "status", r.Status, "runtime_error")
	if r.ExitCode == nil || *r.ExitCode != 3 {
		t.Fatalf("exit code %v", r.ExitCode)
	}
	eq(t, "stdout", r.Stdout, "ready\ncaught\n")
}

func TestStreamErrors(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	_, err := c.Stream(ctx, ExecuteRequest{Language: "cobol", Code: "x"})
	var e *Error
	if !errors.Is(err, ErrUnknownLanguage) || !errors.As(err, &e) || e.Code != "unknown_language" || e.Status != 422 {
		t.Fatalf("err = %v", err)
	}
	_, err = NewClient("", WithAPIKey("wrong-key-0123456789")).Stream(ctx, ExecuteRequest{Language: "python", Code: "1"})
	if !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.Status != 401 || e.RequestID == "" {
		t.Fatalf("err = %v", err)
	}
}
