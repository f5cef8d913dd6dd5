package soulbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors, one per kind of failure. Every error a Client returns for a
// failed call is a *Error; test its kind with errors.Is:
//
//	if errors.Is(err, soulbox.ErrNotFound) { ... }
//
// and read its details with errors.As:
//
//	var e *soulbox.Error
//	if errors.As(err, &e) { fmt.Println(e.Code, e.Status, e.RequestID) }
var (
	// ErrInvalidRequest: HTTP 400 (limit_exceeds_max included).
	ErrInvalidRequest = errors.New("soulbox: invalid request")
	// ErrAuthentication: HTTP 401, a missing or wrong API key.
	ErrAuthentication = errors.New("soulbox: authentication failed")
	// ErrPermissionDenied: HTTP 403 (permission_denied), the key may not do this,
	// e.g. read the audit log without the admin role.
	ErrPermissionDenied = errors.New("soulbox: permission denied")
	// ErrNotFound: HTTP 404 (unknown, ended, or another key's execution or sandbox).
	ErrNotFound = errors.New("soulbox: not found")
	// ErrConflict: HTTP 409 (e.g. the sandbox is paused, stdin is closed).
	ErrConflict = errors.New("soulbox: conflict")
	// ErrPayloadTooLarge: HTTP 413.
	ErrPayloadTooLarge = errors.New("soulbox: payload too large")
	// ErrUnknownLanguage: HTTP 422, the language is not offered by the server.
	ErrUnknownLanguage = errors.New("soulbox: unknown language")
	// ErrRateLimited: HTTP 429 (after the retries); Error.RetryAfter says how long to wait.
	ErrRateLimited = errors.New("soulbox: rate limited")
	// ErrUnavailable: HTTP 503 (after the retries); Error.RetryAfter says how long to wait.
	ErrUnavailable = errors.New("soulbox: unavailable")
	// ErrServer: any other HTTP 5xx.
	ErrServer = errors.New("soulbox: server error")
	// ErrConnection: no answer (connection refused, reset, DNS failure...); Status is 0.
	ErrConnection = errors.New("soulbox: connection failed")
	// ErrTimeout: the client-side timeout (or the context's deadline) ran out; Status is 0.
	ErrTimeout = errors.New("soulbox: timeout")
)

// Error is the error type of every failed call: the API's error code and
// message, the HTTP status (0 when there was no answer), the response's
// X-Request-Id and, for 429 and 503, the Retry-After delay.
//
// errors.Is(err, ErrNotFound) (and the other sentinels) tells its kind;
// errors.Unwrap gives the underlying transport error, if any.
type Error struct {
	// Code is the API's error.code (e.g. "unknown_language"), or "connection_error"
	// / "timeout" for errors without an answer.
	Code string
	// Message is the API's error.message (it names the offending field).
	Message string
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// RequestID is the response's X-Request-Id ("" without an answer).
	RequestID string
	// RetryAfter is the delay the server asked for (429, 503), else 0.
	RetryAfter time.Duration
	// Body is the raw response body.
	Body []byte

	kind  error
	cause error
}

// Error implements the error interface.
func (e *Error) Error() string {
	s := "soulbox: "
	if e.Status != 0 {
		s += strconv.Itoa(e.Status) + " "
	}
	s += e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request_id " + e.RequestID + ")"
	}
	return s
}

// Is reports whether the error is of the kind of target (one of the Err* sentinels).
func (e *Error) Is(target error) bool { return e.kind != nil && target == e.kind }

// Unwrap returns the underlying transport or context error, if any.
func (e *Error) Unwrap() error { return e.cause }

// Kind returns the sentinel this error matches (ErrNotFound, ...), or nil for
// an HTTP status without a sentinel of its own (e.g. 415).
func (e *Error) Kind() error { return e.kind }

func kindForStatus(status int) error {
	switch status {
	case 400:
		return ErrInvalidRequest
	case 401:
		return ErrAuthentication
	case 403:
		return ErrPermissionDenied
	case 404:
		return ErrNotFound
	case 409:
		return ErrConflict
	case 413:
		return ErrPayloadTooLarge
	case 422:
		return ErrUnknownLanguage
	case 429:
		return ErrRateLimited
	case 503:
		return ErrUnavailable
	}
	if status >= 500 {
		return ErrServer
	}
	return nil
}

// newAPIError builds the error for an HTTP error response whose body was read.
func newAPIError(status int, h http.Header, body []byte) *Error {
	e := &Error{Status: status, RequestID: h.Get("X-Request-Id"), Body: body, kind: kindForStatus(status)}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else {
		e.Code = "http_" + strconv.Itoa(status)
		e.Message = string(body)
		if len(e.Message) > 512 {
			e.Message = e.Message[:512]
		}
	}
	if ra, ok := parseRetryAfter(h.Get("Retry-After"), time.Now()); ok {
		e.RetryAfter = ra
	}
	return e
}

func connectionError(err error) *Error {
	return &Error{Code: "connection_error", Message: err.Error(), kind: ErrConnection, cause: err}
}

func timeoutError(err error) *Error {
	return &Error{Code: "timeout", Message: err.Error(), kind: ErrTimeout, cause: err}
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			n = 0
		}
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

// errorf builds a client-side *Error (no HTTP status).
func errorf(kind error, code, format string, a ...interface{}) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...), kind: kind}
}
