package soulbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// StreamEvent is one event of an interactive execution (Client.Stream).
type StreamEvent struct {
	// Type is "started", "stdout", "stderr", "exit" or "error".
	Type string
	// ID is the execution's id ("started").
	ID string
	// Data is the output text ("stdout", "stderr").
	Data string
	// Result is the final result ("exit"), stdout and stderr included.
	Result *Result
	// Error is a problem the server reported that did not end the stream ("error").
	Error *Error
	// Raw is the message as received.
	Raw json.RawMessage
}

// Stream is one interactive execution over the WebSocket /api/ws: its events
// as they come (Next/Event), and its input (SendStdin, CloseStdin, Signal, Kill).
//
//	s, err := client.Stream(ctx, soulbox.ExecuteRequest{Language: "python", Code: code})
//	if err != nil { ... }
//	defer s.Close()
//	for s.Next() {
//		ev := s.Event()
//		if ev.Type == "stdout" { fmt.Print(ev.Data) }
//	}
//	if err := s.Err(); err != nil { ... }
//	fmt.Println(s.Result().Status)
//
// Next and Event are for one goroutine; SendStdin, CloseStdin, Signal and Kill
// may be called from any goroutine meanwhile.
type Stream struct {
	ws      *wsConn
	pending []StreamEvent
	ev      StreamEvent
	err     error
	done    bool
	result  *Result
	id      string
	stop    chan struct{}
	once    sync.Once
	ctx     context.Context
}

type wsMessage struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Data  string `json:"data"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

var codeStatus = map[string]int{
	"invalid_argument": 400, "limit_exceeds_max": 400, "unauthenticated": 401, "not_found": 404,
	"conflict": 409, "payload_too_large": 413, "unknown_language": 422, "rate_limited": 429,
	"internal_error": 500, "sandbox_setup_failed": 500, "unavailable": 503,
}

func wsError(code, msg string, status int) *Error {
	if status == 0 {
		status = codeStatus[code]
	}
	return &Error{Code: code, Message: msg, Status: status, kind: kindForStatus(status)}
}

// Stream starts a program over the WebSocket /api/ws and returns once the
// server has started it (its "started" event is the first Next gives). The
// request's TestCases are not allowed. A refused start (unknown language,
// rate limit...) is returned as a *Error; 429/503 are retried as for every call.
func (c *Client) Stream(ctx context.Context, req ExecuteRequest) (*Stream, error) {
	if c.baseErr != nil {
		return nil, &Error{Code: "invalid_url", Message: c.baseErr.Error(), kind: ErrConnection, cause: c.baseErr}
	}
	body, err := json.Marshal(req.prepared())
	if err != nil {
		return nil, &Error{Code: "invalid_request", Message: err.Error(), kind: ErrInvalidRequest, cause: err}
	}
	msg := append([]byte(`{"type":"execute",`), body[1:]...)
	for attempt := 0; ; attempt++ {
		s, err := c.startStream(ctx, msg)
		if err == nil {
			return s, nil
		}
		var e *Error
		if errors.As(err, &e) && (e.Status == 429 || e.Status == 503) && attempt < c.maxRetries {
			wait := backoff(attempt)
			if e.RetryAfter > 0 {
				wait = e.RetryAfter
			}
			if wait > maxRetryWait {
				wait = maxRetryWait
			}
			if werr := sleepCtx(ctx, wait); werr != nil {
				return nil, timeoutError(werr)
			}
			continue
		}
		return nil, err
	}
}

func (c *Client) startStream(ctx context.Context, msg []byte) (*Stream, error) {
	ws, err := dialWS(ctx, c.base, rWS.path, c.auth, c.userAgent, c.timeout)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		ws.conn.SetDeadline(dl)
	}
	if c.timeout > 0 {
		ws.conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	if err := ws.writeText(msg); err != nil {
		ws.conn.Close()
		return nil, connectionError(err)
	}
	first, err := ws.readMessage()
	if err != nil {
		ws.conn.Close()
		var wc *wsClosed
		if errors.As(err, &wc) && wc.code >= 4000 {
			return nil, wsError("closed", wc.reason, wc.code-4000)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, timeoutError(err)
		}
		return nil, connectionError(err)
	}
	var m wsMessage
	if err := json.Unmarshal(first, &m); err != nil {
		ws.conn.Close()
		return nil, errorf(ErrServer, "invalid_response", "websocket: %v", err)
	}
	if m.Type == "error" && m.Error != nil {
		e := wsError(m.Error.Code, m.Error.Message, 0)
		// a fatal error is followed by a close 4000+status
		ws.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := ws.readMessage(); err != nil {
			var wc *wsClosed
			if errors.As(err, &wc) && wc.code >= 4000 {
				e = wsError(m.Error.Code, m.Error.Message, wc.code-4000)
			}
		}
		ws.conn.Close()
		return nil, e
	}
	ws.conn.SetDeadline(time.Time{})
	s := &Stream{ws: ws, stop: make(chan struct{}), ctx: ctx}
	s.pending = append(s.pending, s.decode(first, &m))
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				ws.conn.Close()
			case <-s.stop:
			}
		}()
	}
	return s, nil
}

func (s *Stream) decode(raw []byte, m *wsMessage) StreamEvent {
	ev := StreamEvent{Type: m.Type, ID: m.ID, Data: m.Data, Raw: raw}
	switch m.Type {
	case "started":
		s.id = m.ID
	case "exit":
		r := new(Result)
		if err := json.Unmarshal(raw, r); err == nil {
			r.Raw = raw
			ev.Result = r
			s.result = r
		}
	case "error":
		if m.Error != nil {
			ev.Error = wsError(m.Error.Code, m.Error.Message, 0)
		}
	}
	return ev
}

// Next waits for the next event; false once the "exit" event has been given,
// or on an error (see Err).
func (s *Stream) Next() bool {
	if len(s.pending) > 0 {
		s.ev, s.pending = s.pending[0], s.pending[1:]
		return true
	}
	if s.done {
		return false
	}
	if s.ev.Type == "exit" {
		s.finish(nil)
		return false
	}
	raw, err := s.ws.readMessage()
	if err != nil {
		var wc *wsClosed
		switch {
		case errors.As(err, &wc) && wc.code >= 4000:
			err = wsError("closed", wc.reason, wc.code-4000)
		case errors.As(err, &wc):
			err = errorf(ErrConnection, "connection_error", "the server closed the stream before the exit event (%d %s)", wc.code, wc.reason)
		case s.ctx.Err() != nil:
			err = timeoutError(s.ctx.Err())
		case errors.Is(err, io.EOF):
			err = errorf(ErrConnection, "connection_error", "the connection ended before the exit event")
		default:
			err = connectionError(err)
		}
		s.finish(err)
		return false
	}
	var m wsMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		s.finish(errorf(ErrServer, "invalid_response", "websocket: %v", err))
		return false
	}
	s.ev = s.decode(raw, &m)
	return true
}

func (s *Stream) finish(err error) {
	s.done = true
	if s.err == nil {
		s.err = err
	}
	s.Close()
}

// Event returns the current event.
func (s *Stream) Event() StreamEvent { return s.ev }

// Err returns the error that ended the stream early, if any.
func (s *Stream) Err() error { return s.err }

// ID returns the execution's id.
func (s *Stream) ID() string { return s.id }

// Result returns the final result once the "exit" event has come, else nil.
func (s *Stream) Result() *Result { return s.result }

// Wait reads the remaining events and returns the final result.
func (s *Stream) Wait() (*Result, error) {
	for s.Next() {
	}
	if s.err != nil {
		return nil, s.err
	}
	if s.result == nil {
		return nil, errorf(ErrConnection, "connection_error", "the stream ended without a result")
	}
	return s.result, nil
}

func (s *Stream) send(ctx context.Context, v interface{}) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		s.ws.conn.SetWriteDeadline(dl)
		defer s.ws.conn.SetWriteDeadline(time.Time{})
	}
	if err := s.ws.writeText(b); err != nil {
		return connectionError(err)
	}
	return nil
}

// SendStdin writes data to the program's stdin.
func (s *Stream) SendStdin(ctx context.Context, data string) error {
	return s.send(ctx, map[string]string{"type": "stdin", "data": data})
}

// CloseStdin closes the program's stdin (it then reads end of file).
func (s *Stream) CloseStdin(ctx context.Context) error {
	return s.send(ctx, map[string]string{"type": "stdin_close"})
}

// Signal sends a signal ("SIGINT", "INT", "2"...) to the running program's
// process group, which may catch it; one sent while it is queued or compiling
// does nothing. "SIGKILL" is Kill. An unknown signal comes back as an "error"
// event and the program runs on.
func (s *Stream) Signal(ctx context.Context, signal string) error {
	return s.send(ctx, struct {
		Type   string `json:"type"`
		Signal string `json:"signal"`
	}{"signal", signal})
}

// Kill ends the program: its result is runtime_error, signal 9, "killed on request".
func (s *Stream) Kill(ctx context.Context) error {
	return s.send(ctx, map[string]string{"type": "kill"})
}

// Close closes the connection (which kills the program if it still runs).
func (s *Stream) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.ws.close()
	})
	return nil
}
