package soulbox

import (
	"bytes"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newSandbox(t *testing.T, req SandboxRequest) *Sandbox {
	t.Helper()
	sb, err := testClient(t).CreateSandbox(testCtx(t), req)
	must(t, err)
	t.Cleanup(func() { sb.Close() })
	return sb
}

func TestSandboxLifecycle(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	sb := newSandbox(t, SandboxRequest{Template: "python", TimeoutS: 600, Metadata: map[string]string{"suite": "go", "case": "life"}})
	if len(sb.ID) != 20 {
		t.Fatalf("id %q", sb.ID)
	}
	eq(t, "template", sb.Template, "python")
	eq(t, "state", sb.State, "running")
	eq(t, "metadata", sb.Metadata["suite"], "go")
	eq(t, "isolation", sb.Isolation, "namespaces")

	got, err := c.GetSandbox(ctx, sb.ID)
	must(t, err)
	eq(t, "get id", got.ID, sb.ID)

	page, err := c.ListSandboxes(ctx, ListSandboxesOptions{Metadata: map[string]string{"suite": "go", "case": "life"}})
	must(t, err)
	eq(t, "listed", len(page.Sandboxes), 1)
	eq(t, "listed id", page.Sandboxes[0].ID, sb.ID)
	eq(t, "total", page.Total, 1)
	eq(t, "next offset", page.NextOffset, -1)

	// paging
	sb2 := newSandbox(t, SandboxRequest{Metadata: map[string]string{"suite": "go", "case": "life2"}})
	p1, err := c.ListSandboxes(ctx, ListSandboxesOptions{Metadata: map[string]string{"suite": "go"}, State: []string{"running"}, Limit: 1})
	must(t, err)
	eq(t, "page 1", len(p1.Sandboxes), 1)
	eq(t, "total", p1.Total, 2)
	eq(t, "next", p1.NextOffset, 1)
	p2, err := c.ListSandboxes(ctx, ListSandboxesOptions{Metadata: map[string]string{"suite": "go"}, Limit: 1, Offset: p1.NextOffset})
	must(t, err)
	eq(t, "oldest first", p1.Sandboxes[0].ID+" "+p2.Sandboxes[0].ID, sb.ID+" "+sb2.ID)
	eq(t, "last page", p2.NextOffset, -1)
	must(t, sb2.Kill(ctx))

	must(t, sb.SetTimeout(ctx, 60*time.Second))
	if sb.TimeoutS > 60 || sb.TimeoutS < 55 {
		t.Fatalf("timeout_s %d", sb.TimeoutS)
	}

	other := NewClient("", WithAPIKey(os.Getenv("SOULBOX_TEST_OTHER_KEY")))
	_, err = other.GetSandbox(ctx, sb.ID)
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Message != "no such sandbox" {
		t.Fatalf("other key: %v", err)
	}
	// the other key's view of the same id: nothing on any route
	foreign := other.newSandbox(SandboxInfo{ID: sb.ID})
	if _, err := foreign.Commands.Run(ctx, CommandRequest{Cmd: "true"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other key's command: %v", err)
	}
	if _, err := foreign.Files.Read(ctx, "keep.txt"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other key's read: %v", err)
	}
	if err := foreign.Kill(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("other key's kill: %v", err)
	}
	otherPage, err := other.ListSandboxes(ctx, ListSandboxesOptions{Metadata: map[string]string{"suite": "go"}})
	must(t, err)
	eq(t, "other key's list", otherPage.Total, 0)

	_, err = sb.Files.WriteText(ctx, "keep.txt", "kept")
	must(t, err)
	must(t, sb.Pause(ctx))
	eq(t, "paused", sb.State, "paused")
	_, err = sb.Commands.Run(ctx, CommandRequest{Cmd: "true"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("command while paused: %v", err)
	}
	must(t, sb.Resume(ctx))
	eq(t, "resumed", sb.State, "running")
	txt, err := sb.Files.ReadText(ctx, "keep.txt")
	must(t, err)
	eq(t, "file after resume", txt, "kept")
	info, err := sb.Info(ctx)
	must(t, err)
	eq(t, "info state", info.State, "running")

	must(t, sb.Kill(ctx))
	if _, err := c.GetSandbox(ctx, sb.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after kill: %v", err)
	}
	must(t, sb.Close()) // already gone: fine
}

func TestMicroVMSandbox(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	sb := newSandbox(t, SandboxRequest{Template: "base", TimeoutS: 120, Isolation: "microvm"})
	eq(t, "isolation", sb.Isolation, "microvm")
	got, err := c.GetSandbox(ctx, sb.ID)
	must(t, err)
	eq(t, "get isolation", got.Isolation, "microvm")
	r, err := sb.Commands.Run(ctx, CommandRequest{Cmd: "uname -r"})
	must(t, err)
	host, err := os.ReadFile("/proc/sys/kernel/osrelease") // the host's uname -r
	must(t, err)
	if k := strings.TrimSpace(r.Stdout); r.ExitCode != 0 || k == "" || k == strings.TrimSpace(string(host)) {
		t.Fatalf("uname -r in the microVM: %q (exit %d), host %q", r.Stdout, r.ExitCode, host)
	}
}

func TestCommands(t *testing.T) {
	ctx := testCtx(t)
	sb := newSandbox(t, SandboxRequest{Template: "base"})
	cmd, err := sb.Commands.Run(ctx, CommandRequest{Cmd: "echo out; echo err >&2; exit 3"})
	must(t, err)
	eq(t, "stdout", cmd.Stdout, "out\n")
	eq(t, "stderr", cmd.Stderr, "err\n")
	eq(t, "exit", cmd.ExitCode, 3)
	eq(t, "status", cmd.Status, "runtime_error")
	eq(t, "config", strings.Join(cmd.Config.Args, " "), "-c echo out; echo err >&2; exit 3")

	cmd, err = sb.Commands.Run(ctx, CommandRequest{Argv: []string{"pwd"}, Cwd: "/tmp", Env: map[string]string{"A": "1"}})
	must(t, err)
	eq(t, "argv", cmd.Stdout, "/tmp\n")

	// callbacks: output as it comes (SSE)
	var outs, errs []string
	cmd, err = sb.Commands.Run(ctx, CommandRequest{
		Cmd:      "for i in 1 2 3; do echo line $i; sleep 0.1; done; echo oops >&2",
		OnStdout: func(s string) { outs = append(outs, s) },
		OnStderr: func(s string) { errs = append(errs, s) },
	})
	must(t, err)
	eq(t, "chunks", strings.Join(outs, "|"), "line 1\n|line 2\n|line 3\n")
	eq(t, "stderr chunks", strings.Join(errs, "|"), "oops\n")
	eq(t, "stdout", cmd.Stdout, "line 1\nline 2\nline 3\n")
	eq(t, "status", cmd.Status, "ok")

	// iterator form
	s, err := sb.Commands.Stream(ctx, CommandRequest{Cmd: "echo a; echo b"})
	must(t, err)
	var types []string
	var data strings.Builder
	for s.Next() {
		ev := s.Event()
		if len(types) == 0 || types[len(types)-1] != ev.Type {
			types = append(types, ev.Type)
		}
		data.WriteString(ev.Data)
		if ev.Type == "start" && ev.Pid < 1 || ev.Type == "exit" && ev.Command.Status != "ok" {
			t.Fatalf("event %+v", ev)
		}
	}
	must(t, s.Err())
	eq(t, "events", strings.Join(types, ","), "start,stdout,exit")
	eq(t, "data", data.String(), "a\nb\n")

	// background, stdin, reattach, wait
	h, err := sb.Commands.Start(ctx, CommandRequest{Cmd: "read name; echo hello $name; read x; echo got $x", StdinOpen: true, Tag: "greeter"})
	must(t, err)
	eq(t, "state", h.Command.State, "running")
	must(t, h.SendStdin(ctx, "Ada\n"))
	rs, err := h.Stream(ctx)
	must(t, err)
	for rs.Next() {
		if ev := rs.Event(); ev.Type == "stdout" && ev.Data == "hello Ada\n" {
			must(t, sb.Commands.SendStdin(ctx, h.Pid, "more\n"))
			must(t, sb.Commands.CloseStdin(ctx, h.Pid))
		}
	}
	done, err := rs.Wait()
	must(t, err)
	eq(t, "reattached output", done.Stdout, "hello Ada\ngot more\n")
	w, err := h.Wait(ctx)
	must(t, err)
	eq(t, "waited stdout", w.Stdout, "hello Ada\ngot more\n")
	eq(t, "status", w.Status, "ok")
	err = h.SendStdin(ctx, "late")
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("stdin after the end: %v", err)
	}

	// signals
	k, err := sb.Commands.Start(ctx, CommandRequest{Cmd: "sleep 30"})
	must(t, err)
	must(t, k.Kill(ctx))
	kw, err := k.Wait(ctx)
	must(t, err)
	eq(t, "killed", kw.Status, "killed")
	eq(t, "signal", *kw.Signal, 9)
	// (signal once it runs: a SIGTERM sent at once is sometimes lost, see the report)
	term, err := sb.Commands.Start(ctx, CommandRequest{Cmd: "echo ready; exec sleep 30"})
	must(t, err)
	ts, err := term.Stream(ctx)
	must(t, err)
	for ts.Next() && ts.Event().Type != "stdout" {
	}
	ts.Close()
	time.Sleep(500 * time.Millisecond)
	must(t, sb.Commands.Signal(ctx, term.Pid, "SIGTERM"))
	tw, err := sb.Commands.Wait(ctx, term.Pid)
	must(t, err)
	if tw.Signal == nil {
		t.Fatalf("SIGTERM: %+v", tw)
	}
	eq(t, "terminated", tw.Status+" "+strconv.Itoa(*tw.Signal), "runtime_error 15")

	list, err := sb.Commands.List(ctx)
	must(t, err)
	var tags []string
	for _, c := range list {
		if c.Tag != "" {
			tags = append(tags, c.Tag)
		}
	}
	eq(t, "tags", strings.Join(tags, ","), "greeter")
	g, err := sb.Commands.Get(ctx, h.Pid)
	must(t, err)
	eq(t, "get", g.Stdout, "hello Ada\ngot more\n")
	if _, err := sb.Commands.Get(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown pid: %v", err)
	}
}

func TestFiles(t *testing.T) {
	ctx := testCtx(t)
	sb := newSandbox(t, SandboxRequest{Template: "base"})
	f := sb.Files
	e, err := f.Write(ctx, "data/hello.txt", []byte("hello, file"))
	must(t, err)
	eq(t, "path", e.Path, "/home/user/data/hello.txt")
	eq(t, "size", e.Size, 11)
	eq(t, "perm", e.Permissions, "-rw-r--r--")
	b, err := f.Read(ctx, "/workspace/data/hello.txt")
	must(t, err)
	eq(t, "read", string(b), "hello, file")
	b, err = f.ReadRange(ctx, "~/data/hello.txt", 7, 4)
	must(t, err)
	eq(t, "range", string(b), "file")
	b, err = f.ReadRange(ctx, "~/data/hello.txt", 7, -1)
	must(t, err)
	eq(t, "range to the end", string(b), "file")

	bin := []byte{0, 1, 2, 255, 254, '\n'}
	entries, err := f.WriteFiles(ctx, []FileData{{Path: "up/a.bin", Data: bin}, {Path: "/tmp/b.txt", Data: []byte("bee")}})
	must(t, err)
	eq(t, "uploaded", len(entries), 2)
	b, err = f.Read(ctx, "up/a.bin")
	must(t, err)
	if !bytes.Equal(b, bin) {
		t.Fatalf("binary round trip: %v", b)
	}
	txt, err := f.ReadText(ctx, "/tmp/b.txt")
	must(t, err)
	eq(t, "b", txt, "bee")

	must(t, f.Mkdir(ctx, "d1/d2"))
	must(t, f.Move(ctx, "/tmp/b.txt", "d1/d2/b.txt"))
	list, err := f.List(ctx, "", 3)
	must(t, err)
	var paths []string
	for _, x := range list {
		paths = append(paths, x.Path+":"+x.Type)
	}
	sort.Strings(paths)
	eq(t, "list", strings.Join(paths, " "),
		"/home/user/d1/d2/b.txt:file /home/user/d1/d2:dir /home/user/d1:dir /home/user/data/hello.txt:file /home/user/data:dir /home/user/up/a.bin:file /home/user/up:dir")
	st, err := f.Stat(ctx, "d1/d2/b.txt")
	must(t, err)
	eq(t, "stat", st.Name+" "+strconv.Itoa(int(st.Size)), "b.txt 3")
	ok, err := f.Exists(ctx, "d1/d2/b.txt")
	must(t, err)
	eq(t, "exists", ok, true)
	must(t, f.Remove(ctx, "d1"))
	ok, err = f.Exists(ctx, "d1/d2/b.txt")
	must(t, err)
	eq(t, "exists after remove", ok, false)
	_, err = f.Read(ctx, "nope.txt")
	var ae *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Message != "open /home/user/nope.txt: ENOENT" {
		t.Fatalf("read missing: %v", err)
	}
	_, err = f.Write(ctx, "/usr/bin/x", []byte("x"))
	if !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("write read-only: %v", err)
	}
}

func TestWatch(t *testing.T) {
	ctx := testCtx(t)
	sb := newSandbox(t, SandboxRequest{Template: "base"})
	must(t, sb.Files.Mkdir(ctx, "w"))
	w, err := sb.Files.Watch(ctx, "w", true)
	must(t, err)
	defer w.Close()
	_, err = sb.Files.WriteText(ctx, "w/a.txt", "1")
	must(t, err)
	must(t, sb.Files.Move(ctx, "w/a.txt", "w/b.txt"))
	must(t, sb.Files.Remove(ctx, "w/b.txt"))
	var seen []string
	for w.Next() {
		ev := w.Event()
		s := ev.Type + " " + ev.Path
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
		if s == "removed /home/user/w/b.txt" {
			break
		}
	}
	must(t, w.Err())
	got := strings.Join(seen, ", ")
	for _, want := range []string{"created /home/user/w/a.txt", "renamed /home/user/w/b.txt", "removed /home/user/w/b.txt"} {
		if !strings.Contains(got, want) {
			t.Fatalf("events %q lack %q", got, want)
		}
	}
	must(t, w.Close())
	if w.Next() {
		t.Fatal("Next after Close")
	}
	_, err = sb.Files.Watch(ctx, "no/such/dir", false)
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Code != "watch_failed" || e.Message != "/home/user/no/such/dir: No such file or directory" {
		t.Fatalf("watch of a missing dir: %v", err)
	}
}

func TestCodeContexts(t *testing.T) {
	ctx := testCtx(t)
	sb := newSandbox(t, SandboxRequest{Template: "code-interpreter"})
	var streamed []string
	ex, err := sb.RunCode(ctx, RunCodeRequest{
		Code: `
			x = 6 * 7
			print("computing")
			x
			`,
		OnStdout: func(s string) { streamed = append(streamed, s) },
	})
	must(t, err)
	eq(t, "stdout", ex.Stdout(), "computing\n")
	eq(t, "streamed", strings.Join(streamed, ""), "computing\n")
	eq(t, "text", ex.Text(), "42")
	eq(t, "count", ex.ExecutionCount, 1)
	if ex.Error != nil {
		t.Fatalf("error %+v", ex.Error)
	}
	// state persists in the default context
	ex, err = sb.RunCode(ctx, RunCodeRequest{Code: "x + 1"})
	must(t, err)
	eq(t, "state", ex.Text(), "43")

	// rich results: a chart (PNG bytes), a DataFrame (HTML), a dict (JSON)
	var results int
	ex, err = sb.RunCode(ctx, RunCodeRequest{
		Code: `
			import pandas as pd, matplotlib.pyplot as plt
			plt.plot([1, 2, 3], [1, 4, 9])
			plt.show()
			pd.DataFrame({"a": [1, 2]})
			`,
		OnResult: func(r *CellResult) { results++ },
	})
	must(t, err)
	eq(t, "results", len(ex.Results), 2)
	eq(t, "callbacks", results, 2)
	chart, df := ex.Results[0], ex.Results[1]
	eq(t, "chart main", chart.IsMain, false)
	if !bytes.HasPrefix(chart.PNG, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("png: %q", chart.PNG[:minInt(len(chart.PNG), 16)])
	}
	if _, ok := chart.Data["image/png"]; !ok {
		t.Fatal("raw bundle lacks image/png")
	}
	eq(t, "df main", df.IsMain, true)
	if !strings.Contains(df.HTML, "<table") {
		t.Fatalf("html %q", df.HTML)
	}
	ex, err = sb.RunCode(ctx, RunCodeRequest{Code: `{"k": [1, 2]}`})
	must(t, err)
	eq(t, "json", strings.ReplaceAll(string(ex.Results[0].JSON), " ", ""), `{"k":[1,2]}`)

	// errors of the code are in the execution, not the call
	ex, err = sb.RunCode(ctx, RunCodeRequest{Code: "1/0"})
	must(t, err)
	if ex.Error == nil {
		t.Fatal("no error")
	}
	eq(t, "error", ex.Error.Name+": "+ex.Error.Value, "ZeroDivisionError: division by zero")
	if !strings.Contains(ex.Error.Traceback, "<cell-") {
		t.Fatalf("traceback %q", ex.Error.Traceback)
	}

	// explicit contexts
	cc, err := sb.CreateContext(ctx, ContextRequest{Language: "bash", Cwd: "/tmp/work"})
	must(t, err)
	eq(t, "ctx", cc.Language+" "+cc.Cwd, "bash /tmp/work")
	ex, err = sb.RunCode(ctx, RunCodeRequest{ContextID: cc.ID, Code: "V=7; pwd"})
	must(t, err)
	eq(t, "bash", ex.Stdout(), "/tmp/work\n")
	ex, err = sb.RunCode(ctx, RunCodeRequest{ContextID: cc.ID, Code: "echo $V"})
	must(t, err)
	eq(t, "bash state", ex.Stdout(), "7\n")
	js, err := sb.RunCode(ctx, RunCodeRequest{Language: "javascript", Code: "[1,2].map(x => x * 2)"})
	must(t, err)
	eq(t, "js json", strings.ReplaceAll(string(js.Results[0].JSON), " ", ""), "[2,4]")

	list, err := sb.ListContexts(ctx)
	must(t, err)
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	if !strings.Contains(strings.Join(ids, ","), cc.ID) {
		t.Fatalf("contexts %v lack %s", ids, cc.ID)
	}
	r, err := sb.RestartContext(ctx, cc.ID)
	must(t, err)
	eq(t, "restarted id", r.ID, cc.ID)
	ex, err = sb.RunCode(ctx, RunCodeRequest{ContextID: cc.ID, Code: "echo \"[$V]\""})
	must(t, err)
	eq(t, "state lost", ex.Stdout(), "[]\n")

	py, err := sb.CreateContext(ctx, ContextRequest{Language: "python"})
	must(t, err)
	_, err = sb.RunCode(ctx, RunCodeRequest{ContextID: py.ID, Code: "1"}) // the interpreter is ready
	must(t, err)
	go func() {
		time.Sleep(700 * time.Millisecond)
		sb.InterruptContext(ctx, py.ID)
	}()
	ex, err = sb.RunCode(ctx, RunCodeRequest{ContextID: py.ID, Code: "import time\nfor i in range(100): time.sleep(0.1)"})
	must(t, err)
	if ex.Error == nil || ex.Error.Name != "KeyboardInterrupt" {
		t.Fatalf("interrupted cell: %+v", ex.Error)
	}
	must(t, sb.DeleteContext(ctx, cc.ID))
	_, err = sb.RunCode(ctx, RunCodeRequest{ContextID: cc.ID, Code: "true"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted context: %v", err)
	}
}
