package soulbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// CommandRequest is a command to run in a session: exactly one of Cmd (a line
// for /bin/bash -c) and Argv (a program and its arguments, no shell).
type CommandRequest struct {
	Cmd  string   `json:"cmd,omitempty"`
	Argv []string `json:"argv,omitempty"`
	// Cwd is absolute, or relative to /home/user (the default).
	Cwd string            `json:"cwd,omitempty"`
	Env map[string]string `json:"env,omitempty"`
	// Stdin is written first; then stdin closes unless StdinOpen.
	Stdin string `json:"stdin,omitempty"`
	// StdinBytes is binary stdin (sent as stdin_base64).
	StdinBytes []byte `json:"stdin_base64,omitempty"`
	// StdinOpen keeps stdin open for SendStdin.
	StdinOpen bool `json:"stdin_open,omitempty"`
	// TimeoutMs is a wall-clock limit (0: none): past it the command is killed.
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// Background is set by Commands.Start (answers at once).
	Background bool `json:"background,omitempty"`
	// Pty runs the command on a pseudo-terminal of Rows x Cols.
	Pty  bool `json:"pty,omitempty"`
	Rows int  `json:"rows,omitempty"`
	Cols int  `json:"cols,omitempty"`
	// Tag is your label, shown in listings.
	Tag string `json:"tag,omitempty"`
	// User is accepted for E2B compatibility ("user" or "root"); commands run as "user".
	User string `json:"user,omitempty"`
	// OnStdout, when set, makes Commands.Run follow the output as it comes
	// (Server-Sent Events) and call it with each chunk.
	OnStdout func(data string) `json:"-"`
	// OnStderr is OnStdout for stderr.
	OnStderr func(data string) `json:"-"`
}

// CommandConfig is what a command ran.
type CommandConfig struct {
	Cmd  string            `json:"cmd"`
	Args []string          `json:"args"`
	Envs map[string]string `json:"envs"`
	Cwd  string            `json:"cwd"`
}

// Command is a session's command: running, or exited with its status
// ("ok", "runtime_error", "time_limit_exceeded", "memory_limit_exceeded",
// "output_limit_exceeded", "killed", "cancelled", "internal_error").
type Command struct {
	// Pid is the session's own number (1, 2, ...), not a kernel pid.
	Pid         int           `json:"pid"`
	Config      CommandConfig `json:"config"`
	State       string        `json:"state"`
	Tag         string        `json:"tag,omitempty"`
	StartedAt   time.Time     `json:"started_at"`
	StdoutBytes int64         `json:"stdout_bytes"`
	StderrBytes int64         `json:"stderr_bytes"`
	EndedAt     *time.Time    `json:"ended_at,omitempty"`
	Status      string        `json:"status,omitempty"`
	// ExitCode is -1 when a signal ended it.
	ExitCode      int    `json:"exit_code"`
	Signal        *int   `json:"signal"`
	WallTimeMs    int64  `json:"wall_time_ms"`
	CPUTimeMs     int64  `json:"cpu_time_ms"`
	Error         string `json:"error,omitempty"`
	Stdout        string `json:"stdout"`
	Stderr        string `json:"stderr"`
	OutputDropped bool   `json:"output_dropped,omitempty"`
	// Raw is the whole JSON object.
	Raw json.RawMessage `json:"-"`
}

func (c *Command) setRaw(b json.RawMessage) { c.Raw = b }

// Running reports whether the command still runs.
func (c *Command) Running() bool { return c.State == "running" }

// Commands runs and follows a session's processes (Sandbox.Commands).
type Commands struct{ sb *Sandbox }

func (cm *Commands) pidParams(pid int) []string { return []string{cm.sb.ID, strconv.Itoa(pid)} }

// Run runs a command in the foreground and returns it once it has ended, with
// its output. With OnStdout or OnStderr set it follows the output as it comes
// (Server-Sent Events). A command that fails is not an error: see Status.
func (cm *Commands) Run(ctx context.Context, req CommandRequest) (*Command, error) {
	req.Background = false
	if req.OnStdout != nil || req.OnStderr != nil {
		s, err := cm.Stream(ctx, req)
		if err != nil {
			return nil, err
		}
		defer s.Close()
		for s.Next() {
			ev := s.Event()
			switch {
			case ev.Type == "stdout" && req.OnStdout != nil:
				req.OnStdout(ev.Data)
			case ev.Type == "stderr" && req.OnStderr != nil:
				req.OnStderr(ev.Data)
			}
		}
		return s.Wait()
	}
	cmd := new(Command)
	if err := cm.sb.c.callJSON(ctx, rRunCommand, cm.sb.id(), req, cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// Stream runs a command in the foreground and follows it (Server-Sent
// Events): "start", "stdout"/"stderr" as produced, then "exit". If the
// stream is closed early the command runs on (Connect reattaches).
func (cm *Commands) Stream(ctx context.Context, req CommandRequest) (*CommandStream, error) {
	req.Background = false
	q, err := jsonRequest(rRunCommand, cm.sb.id(), req)
	if err != nil {
		return nil, err
	}
	q.accept = "text/event-stream"
	return cm.openStream(ctx, q)
}

// Start runs a command in the background and returns at once with a handle.
func (cm *Commands) Start(ctx context.Context, req CommandRequest) (*CommandHandle, error) {
	req.Background = true
	cmd := new(Command)
	if err := cm.sb.c.callJSON(ctx, rRunCommand, cm.sb.id(), req, cmd); err != nil {
		return nil, err
	}
	return &CommandHandle{Pid: cmd.Pid, Command: cmd, cm: cm}, nil
}

// List returns the session's commands, running and finished, without their output.
func (cm *Commands) List(ctx context.Context) ([]Command, error) {
	var out struct {
		Commands []Command `json:"commands"`
	}
	if err := cm.sb.c.callJSON(ctx, rListCommands, cm.sb.id(), nil, &out); err != nil {
		return nil, err
	}
	return out.Commands, nil
}

// Get returns the command pid now, with its output so far.
func (cm *Commands) Get(ctx context.Context, pid int) (*Command, error) {
	cmd := new(Command)
	if err := cm.sb.c.callJSON(ctx, rGetCommand, cm.pidParams(pid), nil, cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// Wait returns the command pid once it has ended (GET ...?wait=true), with its output.
func (cm *Commands) Wait(ctx context.Context, pid int) (*Command, error) {
	cmd := new(Command)
	q := &request{rt: rGetCommand, params: cm.pidParams(pid), query: url.Values{"wait": {"true"}}}
	if err := cm.sb.c.call(ctx, q, cmd); err != nil {
		return nil, err
	}
	return cmd, nil
}

// Connect reattaches to the command pid: every output event so far, then the
// live ones, then "exit" (Server-Sent Events).
func (cm *Commands) Connect(ctx context.Context, pid int) (*CommandStream, error) {
	q := &request{rt: rGetCommand, params: cm.pidParams(pid), accept: "text/event-stream"}
	return cm.openStream(ctx, q)
}

// SendStdin writes data to the stdin of the command pid (started with
// StdinOpen or Pty). ErrConflict once its stdin is closed or it has ended.
func (cm *Commands) SendStdin(ctx context.Context, pid int, data string) error {
	return cm.sb.c.callJSON(ctx, rCommandStdin, cm.pidParams(pid), map[string]interface{}{"data": data}, nil)
}

// SendStdinBytes writes binary data to the stdin of the command pid.
func (cm *Commands) SendStdinBytes(ctx context.Context, pid int, data []byte) error {
	return cm.sb.c.callJSON(ctx, rCommandStdin, cm.pidParams(pid), map[string]interface{}{"data_base64": data}, nil)
}

// CloseStdin closes the stdin of the command pid.
func (cm *Commands) CloseStdin(ctx context.Context, pid int) error {
	return cm.sb.c.callJSON(ctx, rCommandStdin, cm.pidParams(pid), map[string]interface{}{"close": true}, nil)
}

// Signal sends a signal ("SIGTERM", "INT", "9"...) to the command pid;
// SIGKILL kills its whole process tree (status "killed").
func (cm *Commands) Signal(ctx context.Context, pid int, signal string) error {
	var sig interface{} = signal
	if n, err := strconv.Atoi(signal); err == nil {
		sig = n
	}
	return cm.sb.c.callJSON(ctx, rCommandSignal, cm.pidParams(pid), map[string]interface{}{"signal": sig}, nil)
}

// Kill kills the command pid and its whole process tree (status "killed").
func (cm *Commands) Kill(ctx context.Context, pid int) error {
	return cm.Signal(ctx, pid, "SIGKILL")
}

// Resize resizes the terminal of the command pid (started with Pty).
func (cm *Commands) Resize(ctx context.Context, pid, rows, cols int) error {
	return cm.sb.c.callJSON(ctx, rCommandSignal, cm.pidParams(pid), map[string]int{"rows": rows, "cols": cols}, nil)
}

// CommandHandle is a command started in the background (Commands.Start).
type CommandHandle struct {
	// Pid is the command's number in the session.
	Pid int
	// Command is its state when it started.
	Command *Command
	cm      *Commands
}

// Wait returns the command once it has ended, with its output.
func (h *CommandHandle) Wait(ctx context.Context) (*Command, error) { return h.cm.Wait(ctx, h.Pid) }

// Get returns the command now, with its output so far.
func (h *CommandHandle) Get(ctx context.Context) (*Command, error) { return h.cm.Get(ctx, h.Pid) }

// Stream reattaches to the command's output (replayed from the start, then live).
func (h *CommandHandle) Stream(ctx context.Context) (*CommandStream, error) {
	return h.cm.Connect(ctx, h.Pid)
}

// SendStdin writes data to the command's stdin (it must have StdinOpen).
func (h *CommandHandle) SendStdin(ctx context.Context, data string) error {
	return h.cm.SendStdin(ctx, h.Pid, data)
}

// CloseStdin closes the command's stdin.
func (h *CommandHandle) CloseStdin(ctx context.Context) error { return h.cm.CloseStdin(ctx, h.Pid) }

// Signal sends a signal to the command.
func (h *CommandHandle) Signal(ctx context.Context, signal string) error {
	return h.cm.Signal(ctx, h.Pid, signal)
}

// Kill kills the command and its process tree.
func (h *CommandHandle) Kill(ctx context.Context) error { return h.cm.Kill(ctx, h.Pid) }

// CommandEvent is one event of a followed command.
type CommandEvent struct {
	// Type is "start", "stdout", "stderr" or "exit".
	Type string
	// Pid is the command's number ("start" and "exit").
	Pid int
	// Data is the output text ("stdout", "stderr").
	Data string
	// Command is the ended command, without its output ("exit").
	Command *Command
}

// CommandStream follows a command's output (Server-Sent Events):
//
//	for s.Next() { ev := s.Event(); ... }
//	cmd, err := s.Wait()
//
// Close stops following (the command runs on).
type CommandStream struct {
	resp   *rawResponse
	sse    *sseReader
	ctx    context.Context
	ev     CommandEvent
	err    error
	done   bool
	exit   *Command
	stdout strings.Builder
	stderr strings.Builder
}

func (cm *Commands) openStream(ctx context.Context, q *request) (*CommandStream, error) {
	resp, err := cm.sb.c.do(ctx, q, true)
	if err != nil {
		return nil, err
	}
	return &CommandStream{resp: resp, sse: newSSEReader(resp.Body), ctx: ctx}, nil
}

// Next waits for the next event; false after "exit" or on an error (see Err).
func (s *CommandStream) Next() bool {
	if s.done {
		return false
	}
	for {
		e, err := s.sse.next()
		if err != nil {
			s.done = true
			if s.exit == nil {
				if errors.Is(err, io.EOF) {
					s.err = errorf(ErrConnection, "connection_error", "the stream ended before the exit event")
				} else if errors.Is(s.ctx.Err(), context.DeadlineExceeded) {
					s.err = timeoutError(err)
				} else if s.ctx.Err() != nil {
					s.err = s.ctx.Err()
				} else {
					s.err = connectionError(err)
				}
			}
			s.resp.Close()
			return false
		}
		ev := CommandEvent{Type: e.name}
		switch e.name {
		case "start":
			var v struct {
				Pid int `json:"pid"`
			}
			json.Unmarshal(e.data, &v)
			ev.Pid = v.Pid
		case "stdout", "stderr":
			var v struct {
				Data string `json:"data"`
			}
			json.Unmarshal(e.data, &v)
			ev.Data = v.Data
			if e.name == "stdout" {
				s.stdout.WriteString(v.Data)
			} else {
				s.stderr.WriteString(v.Data)
			}
		case "exit":
			cmd := new(Command)
			if err := json.Unmarshal(e.data, cmd); err != nil {
				s.err = errorf(ErrServer, "invalid_response", "exit event: %v", err)
				s.done = true
				s.resp.Close()
				return false
			}
			cmd.Raw = append(json.RawMessage(nil), e.data...)
			ev.Pid, ev.Command = cmd.Pid, cmd
			s.exit = cmd
			s.done = true
			s.resp.Close()
		default:
			continue
		}
		s.ev = ev
		return true
	}
}

// Event returns the current event.
func (s *CommandStream) Event() CommandEvent { return s.ev }

// Err returns the error that ended the stream early, if any.
func (s *CommandStream) Err() error { return s.err }

// Wait reads the remaining events and returns the ended command with the
// output this stream saw (Stdout, Stderr).
func (s *CommandStream) Wait() (*Command, error) {
	for s.Next() {
	}
	if s.err != nil {
		return nil, s.err
	}
	cmd := *s.exit
	cmd.Stdout, cmd.Stderr = s.stdout.String(), s.stderr.String()
	return &cmd, nil
}

// Close stops following (the command runs on).
func (s *CommandStream) Close() error {
	s.done = true
	return s.resp.Close()
}
