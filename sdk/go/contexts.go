package soulbox

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// CodeContext is a persistent interpreter in a session.
type CodeContext struct {
	ID string `json:"id"`
	// Language is "python", "javascript" or "bash".
	Language string `json:"language"`
	Cwd      string `json:"cwd"`
}

// ContextRequest starts a code context (Sandbox.CreateContext).
type ContextRequest struct {
	// Language is python, javascript or bash (default: the template's default context).
	Language string `json:"language,omitempty"`
	// Cwd is the working directory (default /home/user; made if missing).
	Cwd string `json:"cwd,omitempty"`
}

// CreateContext starts a code context.
func (sb *Sandbox) CreateContext(ctx context.Context, req ContextRequest) (*CodeContext, error) {
	cc := new(CodeContext)
	if err := sb.c.callJSON(ctx, rCreateContext, sb.id(), req, cc); err != nil {
		return nil, err
	}
	return cc, nil
}

// ListContexts returns the session's contexts, oldest first.
func (sb *Sandbox) ListContexts(ctx context.Context) ([]CodeContext, error) {
	var out struct {
		Contexts []CodeContext `json:"contexts"`
	}
	if err := sb.c.callJSON(ctx, rListContexts, sb.id(), nil, &out); err != nil {
		return nil, err
	}
	return out.Contexts, nil
}

// DeleteContext ends a context (its running cell ends with ContextRestarted).
func (sb *Sandbox) DeleteContext(ctx context.Context, id string) error {
	return sb.c.callJSON(ctx, rDeleteContext, []string{sb.ID, id}, nil, nil)
}

// RestartContext gives a context a fresh interpreter (same id; state lost).
func (sb *Sandbox) RestartContext(ctx context.Context, id string) (*CodeContext, error) {
	cc := new(CodeContext)
	if err := sb.c.callJSON(ctx, rRestartContext, []string{sb.ID, id}, nil, cc); err != nil {
		return nil, err
	}
	return cc, nil
}

// InterruptContext interrupts the context's running cell (SIGINT).
func (sb *Sandbox) InterruptContext(ctx context.Context, id string) error {
	return sb.c.callJSON(ctx, rInterruptContext, []string{sb.ID, id}, nil, nil)
}

// RunCodeRequest is a cell to run (Sandbox.RunCode).
type RunCodeRequest struct {
	// Code is the cell; it is dedented (see Dedent) unless NoDedent.
	Code string `json:"code"`
	// ContextID runs it in that context (from CreateContext).
	ContextID string `json:"context_id,omitempty"`
	// Language picks the session's default context of that language (without ContextID).
	Language string `json:"language,omitempty"`
	// Env holds variables for this cell only (python and javascript).
	Env map[string]string `json:"env,omitempty"`
	// TimeoutMs interrupts the cell after this long (0: none).
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
	// SVG asks python for charts as image/svg+xml too.
	SVG bool `json:"svg,omitempty"`
	// NoDedent sends Code exactly as it is.
	NoDedent bool `json:"-"`
	// OnStdout is called with each stdout text as it comes.
	OnStdout func(text string) `json:"-"`
	// OnStderr is called with each stderr text as it comes.
	OnStderr func(text string) `json:"-"`
	// OnResult is called with each result as it comes.
	OnResult func(r *CellResult) `json:"-"`
}

// CellResult is a value a cell produced: its last expression (IsMain) or a chart.
type CellResult struct {
	// Text is the text/plain representation (always there).
	Text       string
	HTML       string
	Markdown   string
	SVG        string
	LaTeX      string
	JavaScript string
	// PNG and JPEG are the image bytes (decoded from base64).
	PNG  []byte
	JPEG []byte
	// JSON is the application/json value.
	JSON json.RawMessage
	// Data is the raw MIME bundle: MIME type -> JSON value as sent.
	Data map[string]json.RawMessage
	// IsMain is true for the cell's last expression, false for a chart.
	IsMain bool
}

// Formats returns the MIME types the result has.
func (r *CellResult) Formats() []string {
	out := make([]string, 0, len(r.Data))
	for k := range r.Data {
		out = append(out, k)
	}
	return out
}

// CellError is the exception that ended a cell (a failure of the code, not of the call).
type CellError struct {
	// Name is the exception's class ("ZeroDivisionError", "ContextRestarted", "ExitCode"...).
	Name      string `json:"name"`
	Value     string `json:"value"`
	Traceback string `json:"traceback"`
}

// Logs are a cell's output texts, in order.
type Logs struct {
	Stdout []string
	Stderr []string
}

// CodeExecution is a cell's outcome: its results, output, error and the
// context's cell count.
type CodeExecution struct {
	Results []CellResult
	Logs    Logs
	// Error is set when the cell failed.
	Error *CellError
	// ExecutionCount counts the context's cells (0 if the interpreter died).
	ExecutionCount int
}

// Text returns the main result's text/plain ("" when there is none).
func (e *CodeExecution) Text() string {
	for i := range e.Results {
		if e.Results[i].IsMain {
			return e.Results[i].Text
		}
	}
	return ""
}

// Stdout returns the cell's whole stdout.
func (e *CodeExecution) Stdout() string { return strings.Join(e.Logs.Stdout, "") }

// Stderr returns the cell's whole stderr.
func (e *CodeExecution) Stderr() string { return strings.Join(e.Logs.Stderr, "") }

type cellEvent struct {
	Type           string                     `json:"type"`
	Text           string                     `json:"text"`
	Data           map[string]json.RawMessage `json:"data"`
	Main           bool                       `json:"main"`
	Name           string                     `json:"name"`
	Value          string                     `json:"value"`
	Traceback      string                     `json:"traceback"`
	ExecutionCount int                        `json:"execution_count"`
}

func newCellResult(data map[string]json.RawMessage, main bool) *CellResult {
	r := &CellResult{Data: data, IsMain: main}
	str := func(k string) string {
		var s string
		if v, ok := data[k]; ok {
			json.Unmarshal(v, &s)
		}
		return s
	}
	bin := func(k string) []byte {
		if s := str(k); s != "" {
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
			if err == nil {
				return b
			}
		}
		return nil
	}
	r.Text = str("text/plain")
	r.HTML = str("text/html")
	r.Markdown = str("text/markdown")
	r.SVG = str("image/svg+xml")
	r.LaTeX = str("text/latex")
	r.JavaScript = str("application/javascript")
	r.PNG = bin("image/png")
	r.JPEG = bin("image/jpeg")
	if v, ok := data["application/json"]; ok {
		r.JSON = v
	}
	return r
}

// RunCode runs a cell in a code context (POST /api/sandboxes/{id}/execute):
// in req.ContextID, else in the session's default context of req.Language.
// Its events are streamed (NDJSON) and passed to the callbacks as they come;
// the cell's outcome is returned once it ends. A cell that raises is not an
// error of the call: see CodeExecution.Error.
func (sb *Sandbox) RunCode(ctx context.Context, req RunCodeRequest) (*CodeExecution, error) {
	if !req.NoDedent {
		req.Code = Dedent(req.Code)
	}
	q, err := jsonRequest(rRunCode, sb.id(), req)
	if err != nil {
		return nil, err
	}
	q.accept = "application/x-ndjson"
	resp, err := sb.c.do(ctx, q, false)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	ex := &CodeExecution{}
	for {
		line, rerr := br.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 {
			var ev cellEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				return nil, errorf(ErrServer, "invalid_response", "cell event: %v", err)
			}
			switch ev.Type {
			case "stdout":
				ex.Logs.Stdout = append(ex.Logs.Stdout, ev.Text)
				if req.OnStdout != nil {
					req.OnStdout(ev.Text)
				}
			case "stderr":
				ex.Logs.Stderr = append(ex.Logs.Stderr, ev.Text)
				if req.OnStderr != nil {
					req.OnStderr(ev.Text)
				}
			case "result":
				r := newCellResult(ev.Data, ev.Main)
				ex.Results = append(ex.Results, *r)
				if req.OnResult != nil {
					req.OnResult(r)
				}
			case "error":
				ex.Error = &CellError{Name: ev.Name, Value: ev.Value, Traceback: ev.Traceback}
			case "end":
				ex.ExecutionCount = ev.ExecutionCount
				return ex, nil
			}
		}
		if rerr != nil {
			if errors.Is(rerr, io.EOF) {
				return nil, errorf(ErrConnection, "connection_error", "the cell's stream ended before its end event")
			}
			if ctx.Err() != nil {
				return nil, timeoutError(rerr)
			}
			return nil, connectionError(rerr)
		}
	}
}
