package soulbox

import (
	"encoding/json"
	"time"
)

// File is one file of an execution request: the first is the entry point.
// Content is UTF-8 text, or base64 with Encoding "base64" (see FileBytes).
type File struct {
	// Name is a relative path (sub-directories allowed).
	Name string `json:"name"`
	// Content is the file's text, or its base64 with Encoding "base64".
	Content string `json:"content"`
	// Encoding is "utf8" (default when empty) or "base64".
	Encoding string `json:"encoding,omitempty"`
}

// Limits are an execution's resource limits; zero fields take the server's
// defaults. Above the server's maximum is refused (ErrInvalidRequest,
// code limit_exceeds_max).
type Limits struct {
	WallTimeMs int `json:"wall_time_ms,omitempty"`
	CPUTimeMs  int `json:"cpu_time_ms,omitempty"`
	MemoryMB   int `json:"memory_mb,omitempty"`
	Processes  int `json:"processes,omitempty"`
	OutputKB   int `json:"output_kb,omitempty"`
	DiskMB     int `json:"disk_mb,omitempty"`
	FileSizeKB int `json:"file_size_kb,omitempty"`
	OpenFiles  int `json:"open_files,omitempty"`
	StackKB    int `json:"stack_kb,omitempty"`
}

// CompileLimits are lower limits for a compiled language's compile stage
// than its own (the language's, else the server's sandbox.compile); zero
// fields keep the stage's own. Each from 1 (MemoryMB from 8) up to the stage's
// own value, else ErrInvalidRequest (400).
type CompileLimits struct {
	WallTimeMs int `json:"wall_time_ms,omitempty"`
	CPUTimeMs  int `json:"cpu_time_ms,omitempty"`
	MemoryMB   int `json:"memory_mb,omitempty"`
}

// Network asks for egress (when the server allows it): Enabled, and
// optionally Allow entries narrowing the server's policy.
type Network struct {
	Enabled bool     `json:"enabled"`
	Allow   []string `json:"allow,omitempty"`
}

// TestCase is one judge case: its stdin and, unless RunOnly, the expected
// output (compared ignoring trailing whitespace at line ends and trailing newlines).
type TestCase struct {
	Stdin          string
	ExpectedOutput string
	// RunOnly sends the case without an expected output: it only runs (verdict "ok").
	RunOnly bool
}

// MarshalJSON encodes the case as the API expects it.
func (t TestCase) MarshalJSON() ([]byte, error) {
	type tc struct {
		Stdin          string  `json:"stdin,omitempty"`
		ExpectedOutput *string `json:"expected_output,omitempty"`
	}
	v := tc{Stdin: t.Stdin}
	if !t.RunOnly {
		v.ExpectedOutput = &t.ExpectedOutput
	}
	return json.Marshal(v)
}

// UnmarshalJSON decodes a case as the API writes it (a Share's TestCases); a case
// without an expected output is RunOnly.
func (t *TestCase) UnmarshalJSON(b []byte) error {
	var v struct {
		Stdin          string  `json:"stdin"`
		ExpectedOutput *string `json:"expected_output"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*t = TestCase{Stdin: v.Stdin, RunOnly: v.ExpectedOutput == nil}
	if v.ExpectedOutput != nil {
		t.ExpectedOutput = *v.ExpectedOutput
	}
	return nil
}

// ExecuteRequest is a program to run: Language and exactly one of Code and
// Files, plus optional stdin, arguments, compiler arguments, environment,
// limits, compile limits, network, isolation, files to hand back and judge
// test cases.
type ExecuteRequest struct {
	// Language is a name or alias from Languages (e.g. "python", "c", "cpp").
	Language string `json:"language"`
	// Code is the program; it is dedented (see Dedent) unless NoDedent.
	Code string `json:"code,omitempty"`
	// Files are the program's files (the first is the entry point), never changed.
	Files []File `json:"files,omitempty"`
	// Stdin is the program's standard input (not with TestCases).
	Stdin string `json:"stdin,omitempty"`
	// Args are the arguments after the program.
	Args []string `json:"args,omitempty"`
	// CompileArgs are more of the compiler's arguments (e.g. "-O0", "-DDEBUG",
	// "-std=c++20"), after the language's own options and before the source
	// files; part of the compile cache's key. Only for languages with a compile
	// step: otherwise ErrInvalidRequest (400, "compile_args: <language> has no
	// compile step").
	CompileArgs []string `json:"compile_args,omitempty"`
	// Env holds extra environment variables.
	Env map[string]string `json:"env,omitempty"`
	// Limits lower (or raise, up to the maximum) the server's limits.
	Limits *Limits `json:"limits,omitempty"`
	// CompileLimits lower a compiled language's compile stage's limits (a
	// compile one stops: Status "compile_error", Compile.Status saying which).
	// Only for languages with a compile step: otherwise ErrInvalidRequest (400,
	// "compile_limits: <language> has no compile step").
	CompileLimits *CompileLimits `json:"compile_limits,omitempty"`
	// Network asks for egress.
	Network *Network `json:"network,omitempty"`
	// Isolation is how the sandboxes are made: "namespaces" (Linux namespaces,
	// a cgroup and seccomp on the host's kernel) or "microvm" (the same sandbox
	// inside a QEMU microVM with its own kernel; slower to start, not with
	// Network). Empty: the server's default (sandbox.isolation).
	Isolation string `json:"isolation,omitempty"`
	// ReturnFiles are patterns of files to hand back from /workspace (Result.Files).
	ReturnFiles []string `json:"return_files,omitempty"`
	// TestCases: judge mode, one fresh run per case (Result.TestCases, Result.Summary).
	TestCases []TestCase `json:"test_cases,omitempty"`
	// NoDedent sends Code exactly as it is.
	NoDedent bool `json:"-"`
}

func (r *ExecuteRequest) prepared() *ExecuteRequest {
	if r.NoDedent || r.Code == "" {
		return r
	}
	if d := Dedent(r.Code); d != r.Code {
		cp := *r
		cp.Code = d
		return &cp
	}
	return r
}

// SubmitRequest is an ExecuteRequest to queue (Client.Submit), with an
// optional CallbackURL the final execution is POSTed to.
type SubmitRequest struct {
	ExecuteRequest
	// CallbackURL is an http:// URL the final execution is POSTed to.
	CallbackURL string `json:"callback_url,omitempty"`
}

// NetworkUsage is a run's traffic through the egress proxy.
type NetworkUsage struct {
	BytesSent          int64 `json:"bytes_sent"`
	BytesReceived      int64 `json:"bytes_received"`
	Connections        int64 `json:"connections"`
	ConnectionsRefused int64 `json:"connections_refused"`
}

// ReturnedFile is a file handed back by ReturnFiles; Content holds its bytes.
type ReturnedFile struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	Content []byte `json:"content"`
}

// TestCaseResult is one judge case's result.
type TestCaseResult struct {
	Index int `json:"index"`
	// Verdict is "accepted" or "wrong_answer" (ok run with an expected output),
	// "ok" (no expected output), else the run's status.
	Verdict    string        `json:"verdict"`
	Status     string        `json:"status"`
	Stdout     string        `json:"stdout"`
	Stderr     string        `json:"stderr"`
	ExitCode   *int          `json:"exit_code"`
	Signal     *int          `json:"signal"`
	WallTimeMs int64         `json:"wall_time_ms"`
	CPUTimeMs  int64         `json:"cpu_time_ms"`
	MemoryKB   int64         `json:"memory_kb"`
	Message    string        `json:"message,omitempty"`
	Network    *NetworkUsage `json:"network,omitempty"`
}

// Summary sums up a judge run: Verdict is the first case's that is not accepted.
type Summary struct {
	Total    int    `json:"total"`
	Accepted int    `json:"accepted"`
	Verdict  string `json:"verdict"`
}

// Result is an execution's result: the run's fields, or, with test cases,
// TestCases and Summary. A program that fails is not an error: see Status
// ("ok", "runtime_error", "time_limit_exceeded", "memory_limit_exceeded",
// "output_limit_exceeded", "compile_error", "internal_error").
type Result struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	// ExitCode is nil when a signal ended the program.
	ExitCode      *int    `json:"exit_code"`
	ExecutionTime string  `json:"execution_time"`
	Status        string  `json:"status"`
	Signal        *int    `json:"signal"`
	WallTimeMs    int64   `json:"wall_time_ms"`
	CPUTimeMs     int64   `json:"cpu_time_ms"`
	MemoryKB      int64   `json:"memory_kb"`
	Truncated     bool    `json:"truncated"`
	Message       string  `json:"message,omitempty"`
	ID            string  `json:"id,omitempty"`
	CompileOutput string  `json:"compile_output,omitempty"`
	Compile       *Result `json:"compile,omitempty"`
	CompileCached bool    `json:"compile_cached,omitempty"`
	// Warm is true when the run used a pre-started sandbox.
	Warm           bool             `json:"warm,omitempty"`
	Network        *NetworkUsage    `json:"network,omitempty"`
	Files          []ReturnedFile   `json:"files,omitempty"`
	FilesTruncated bool             `json:"files_truncated,omitempty"`
	TestCases      []TestCaseResult `json:"test_cases,omitempty"`
	Summary        *Summary         `json:"summary,omitempty"`
	// Raw is the whole JSON object as the server sent it (fields added later included).
	Raw json.RawMessage `json:"-"`
}

func (r *Result) setRaw(b json.RawMessage) { r.Raw = b }

// ExitCodeOr returns the exit code, or def when a signal ended the program.
func (r *Result) ExitCodeOr(def int) int {
	if r.ExitCode == nil {
		return def
	}
	return *r.ExitCode
}

// Callback is the state of an execution's callback delivery.
type Callback struct {
	URL      string `json:"url"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
}

// Execution is a recorded execution: its Result (Status "queued" or
// "running" before it ends) plus its metadata.
type Execution struct {
	Result
	Language   string     `json:"language"`
	Mode       string     `json:"mode"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Callback   *Callback  `json:"callback,omitempty"`
}

// Done reports whether the execution has ended (not queued or running).
func (e *Execution) Done() bool {
	return e.Status != "queued" && e.Status != "running" && e.Status != ""
}

// ExecutionHandle is what Submit answers: the queued execution's id and status.
type ExecutionHandle struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// ExecutionPage is one page of ListExecutions, newest first.
type ExecutionPage struct {
	Items []Execution `json:"executions"`
	// NextCursor is "" on the last page.
	NextCursor string `json:"next_cursor"`
}

// Language is a language the server runs.
type Language struct {
	Name     string   `json:"name"`
	Aliases  []string `json:"aliases"`
	Version  string   `json:"version"`
	Compiled bool     `json:"compiled"`
}

// Languages is the answer of Client.Languages.
type Languages struct {
	Languages   []Language `json:"languages"`
	Unavailable []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"unavailable"`
	Probing []string `json:"probing"`
}

// Health is the server's liveness and load. Status is "ok", "degraded" (cluster
// mode with the database out of reach: new executions get 503) or "stopping".
type Health struct {
	Status          string `json:"status"`
	Version         string `json:"version"`
	UptimeS         int64  `json:"uptime_s"`
	ActiveSandboxes int    `json:"active_sandboxes"`
	Running         int    `json:"running"`
	Queued          int    `json:"queued"`
	Cgroup          string `json:"cgroup"`
	LanguagesReady  bool   `json:"languages_ready"`
	Sessions        int    `json:"sessions"`
	// Store is "sqlite", or "postgres" in cluster mode.
	Store string `json:"store,omitempty"`
	// Cluster is set in cluster mode: what Client.Cluster returns.
	Cluster *Cluster `json:"cluster,omitempty"`
	// Raw is the whole JSON object.
	Raw json.RawMessage `json:"-"`
}

func (h *Health) setRaw(b json.RawMessage) { h.Raw = b }

// Cluster is the answer of Client.Cluster: the nodes sharing the server's store.
type Cluster struct {
	// Store is "sqlite" (the server alone) or "postgres" (cluster mode).
	Store string `json:"store"`
	// Node is the answering node's id, Name its name.
	Node string `json:"node"`
	Name string `json:"name"`
	// Database is "up" or "unreachable" (then Error says why).
	Database string `json:"database"`
	Error    string `json:"error,omitempty"`
	// Queued counts the executions waiting in the shared queue at the last heartbeat.
	Queued int           `json:"queued"`
	Nodes  []ClusterNode `json:"nodes"`
}

// ClusterNode is a node of the cluster, as the server saw it at its last heartbeat.
type ClusterNode struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// State is "up", "lost" (no heartbeat for cluster.node_timeout_ms: its work
	// was ended or handed over) or "left" (stopped).
	State string `json:"state"`
	// Self is true for the node that answered.
	Self bool `json:"self"`
	// Capacity is its server.max_concurrent, MaxQueue its server.max_queue.
	Capacity int `json:"capacity"`
	MaxQueue int `json:"max_queue,omitempty"`
	Running  int `json:"running"`
	Queued   int `json:"queued"`
	// Languages are what it can run (it claims only those).
	Languages []string `json:"languages"`
	// StartedMs is when it started, in milliseconds since the epoch.
	StartedMs      int64 `json:"started_ms,omitempty"`
	HeartbeatAgeMs int64 `json:"heartbeat_age_ms"`
	// URL is its cluster.advertise_url: where the others forward its sessions' requests.
	URL string `json:"url,omitempty"`
	// Reason says why it was lost or left.
	Reason string `json:"reason,omitempty"`
}

// Template is a session template.
type Template struct {
	Name           string   `json:"name"`
	Aliases        []string `json:"aliases"`
	Description    string   `json:"description"`
	Languages      []string `json:"languages"`
	DefaultContext string   `json:"default_context"`
}

// AuditRecord is one record of the audit log (Client.Audit). Event is
// "execution", a security event ("seccomp_kill", "limit_exceeded", ...), a
// refusal ("auth_failure", "rate_limited"), a session's ("session_created",
// ...), a function change ("function_deploy", ...) or "share_created" (Detail:
// the share's id). Fields a record does not have are "" (nil for Limits).
type AuditRecord struct {
	// Seq is its number in the log (newer is larger).
	Seq int64 `json:"seq"`
	// Time is when it happened; TsMs the same in milliseconds since the epoch.
	Time time.Time `json:"time"`
	TsMs int64     `json:"ts_ms"`
	// Event is what happened, e.g. "execution", "auth_failure", "share_created".
	Event     string `json:"event"`
	RequestID string `json:"request_id"`
	// KeyID is the key's id (not its secret); "" without auth.
	KeyID string `json:"key_id"`
	// Client is the caller's address.
	Client     string `json:"client"`
	Language   string `json:"language"`
	CodeSHA256 string `json:"code_sha256"`
	// Limits are an execution's resolved limits.
	Limits *Limits `json:"limits"`
	// Status is an execution's status, e.g. "ok", "time_limit_exceeded".
	Status string `json:"status"`
	// Detail says more (a session's end reason, a share's id, ...).
	Detail string `json:"detail"`
}

// AuditPage is one page of Client.Audit, newest first.
type AuditPage struct {
	Records []AuditRecord `json:"records"`
	// NextCursor is "" on the last page.
	NextCursor string `json:"next_cursor"`
}

// ShareRequest is a program to share (Client.CreateShare): Language and
// exactly one of Code and Files, plus optional stdin, arguments, limits and
// judge test cases (checked as Execute checks them), and optionally
// ExecutionID, one of the caller's finished executions whose result is
// copied into the share.
type ShareRequest struct {
	// Language is a name or alias from Languages.
	Language string `json:"language"`
	// Code is the program; it is dedented (see Dedent) unless NoDedent.
	Code string `json:"code,omitempty"`
	// Files are the program's files (the first is the entry point), never changed.
	Files []File `json:"files,omitempty"`
	// Stdin is the program's standard input (not with TestCases).
	Stdin string `json:"stdin,omitempty"`
	// Args are the arguments after the program.
	Args []string `json:"args,omitempty"`
	// Limits are kept as given.
	Limits *Limits `json:"limits,omitempty"`
	// TestCases are judge cases.
	TestCases []TestCase `json:"test_cases,omitempty"`
	// ExecutionID is a finished execution of the caller's whose result is copied
	// into the share (another key's or an unknown one: ErrNotFound; still queued
	// or running: ErrConflict).
	ExecutionID string `json:"execution_id,omitempty"`
	// NoDedent sends Code exactly as it is.
	NoDedent bool `json:"-"`
}

// ShareLink is what CreateShare answers: the share's ID (22+ url-safe
// characters, 128 random bits: the capability), the playground's URL
// ("/?share={id}", relative to the server) and when it was made.
type ShareLink struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Created time.Time `json:"created"`
}

// Share is a shared program (GetShare), normalized: Language is the
// language's name (an alias resolved), Files spell out their Encoding, Limits
// are as given (not resolved); Code or Files, whichever was shared; absent
// fields are empty (nil).
type Share struct {
	ID        string     `json:"id"`
	Created   time.Time  `json:"created"`
	Language  string     `json:"language"`
	Code      string     `json:"code"`
	Files     []File     `json:"files"`
	Stdin     string     `json:"stdin"`
	Args      []string   `json:"args"`
	Limits    *Limits    `json:"limits"`
	TestCases []TestCase `json:"test_cases"`
	// Result is the shared execution as GetExecution returned it, or nil.
	Result *Execution `json:"result"`
}
