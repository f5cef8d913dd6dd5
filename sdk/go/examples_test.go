package soulbox

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// goRun runs `go run` in dir with args and returns its stdout.
func goRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

var matrixRe = regexp.MustCompile(`^\[\[[0-9.e+\- ]+\]\n \[[0-9.e+\- ]+\]\n \[[0-9.e+\- ]+\]\]\n\n$`)

func TestExampleQuickstart(t *testing.T) {
	out := goRun(t, ".", "./examples/quickstart")
	if !matrixRe.MatchString(out) {
		t.Fatalf("not a 3x3 matrix: %q", out)
	}
}

// The README's example, as written, with the server address swapped for the test server's.
func TestReadmeExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	must(t, err)
	m := regexp.MustCompile("(?s)```go\n(package main.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("no ```go package main block in README.md")
	}
	code := string(m[1])
	if !strings.Contains(code, `soulbox.NewClient("localhost:8080")`) {
		t.Fatal("the README example does not use NewClient(\"localhost:8080\")")
	}
	code = strings.Replace(code, `"localhost:8080"`, `"`+os.Getenv("SOULBOX_URL")+`"`, 1)
	dir := t.TempDir()
	abs, err := filepath.Abs(".")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module readme\n\ngo 1.19\n\nrequire github.com/soulbox/soulbox-go v0.0.0\n\nreplace github.com/soulbox/soulbox-go => "+abs+"\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(code), 0o644))
	out := goRun(t, dir, ".")
	if !matrixRe.MatchString(out) {
		t.Fatalf("not a 3x3 matrix: %q", out)
	}
}

func TestExampleJudge(t *testing.T) {
	out := goRun(t, ".", "./examples/judge")
	lines := regexp.MustCompile(`\(\d+ ms\)`).ReplaceAllString(out, "(N ms)")
	eq(t, "judge output", lines, "case 1: accepted (N ms) output=\"7\"\n"+
		"case 2: accepted (N ms) output=\"0\"\n"+
		"case 3: wrong_answer (N ms) output=\"8\"\n"+
		"summary: 2/3 accepted, verdict wrong_answer\n")
}

func TestExampleStreaming(t *testing.T) {
	out := goRun(t, ".", "./examples/streaming")
	// (the program's own text is checked whole below: it may come in any chunks)
	contains(t, out, "[started] ", "[stdin] 3\n", "[stdin] 4\n", "[stdin] 35\n", "[stdin] done\n",
		"[exit] status=ok exit_code=0\n",
		"[stdout] \"hello\\n\"\n", "[killed] status=runtime_error signal=9 message=\"killed on request\"\n")
	var stdout strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "[stdout] ") && !strings.Contains(l, "hello") {
			chunk, err := strconv.Unquote(strings.TrimPrefix(l, "[stdout] "))
			must(t, err)
			stdout.WriteString(chunk)
		}
	}
	eq(t, "program output", stdout.String(), "number? running total: 3\nnumber? running total: 7\nnumber? running total: 42\nnumber? final total: 42\n")
}

func TestExampleAgent(t *testing.T) {
	png := filepath.Join(t.TempDir(), "chart.png")
	out := goRun(t, ".", "./examples/agent", png)
	contains(t, out, "rows: 6\n", "revenue by region: {\"north\":405,\"south\":285}\n", "best region: north\n", "growth of north: 30\n", "saved "+png+" (")
	b, err := os.ReadFile(png)
	must(t, err)
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 5000 {
		t.Fatalf("chart: %d bytes, not a PNG", len(b))
	}
}
