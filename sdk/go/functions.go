package soulbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FunctionSpec is a version of a serverless function to deploy
// (Client.DeployFunction): its code and how it runs. Zero fields take the
// server's defaults.
type FunctionSpec struct {
	// Name is 1-63 characters of a-z, 0-9, '-' and '_'; a new name makes the function.
	Name string `json:"name"`
	// Language is "python" or "javascript" for a handler; any language in stdio mode.
	Language string `json:"language"`
	// Code is the entry file's source (dedented unless NoDedent); or give Files.
	Code string `json:"code,omitempty"`
	// Files are the source files instead of Code (never changed).
	Files []File `json:"files,omitempty"`
	// Handler is "module.function" (default main.handler / index.handler when the
	// code defines handler).
	Handler string `json:"-"`
	// Stdio deploys in stdio mode (handler ""): the event on stdin, stdout the body.
	Stdio bool `json:"-"`
	// Env holds plain environment variables.
	Env map[string]string `json:"-"`
	// SecretEnv holds secret ones: sent once, never shown again.
	SecretEnv map[string]string `json:"-"`
	// Limits are the sandbox's limits but the wall time, which is TimeoutMs.
	Limits    *Limits  `json:"limits,omitempty"`
	Network   *Network `json:"network,omitempty"`
	Isolation string   `json:"isolation,omitempty"`
	// Reuse keeps warm instances between invocations (with MinInstances,
	// MaxInstances, Concurrency, IdleTimeoutMs).
	Reuse         bool `json:"reuse,omitempty"`
	MinInstances  int  `json:"min_instances,omitempty"`
	MaxInstances  int  `json:"max_instances,omitempty"`
	Concurrency   int  `json:"concurrency,omitempty"`
	TimeoutMs     int  `json:"timeout_ms,omitempty"`
	IdleTimeoutMs int  `json:"idle_timeout_ms,omitempty"`
	// Schedule holds cron expressions invoking the function on their own.
	Schedule []string `json:"schedule,omitempty"`
	// Public lets anyone invoke it over /fn/... without a key.
	Public      bool   `json:"public,omitempty"`
	Description string `json:"description,omitempty"`
	// NoDedent sends Code exactly as given (default: its common indentation is removed).
	NoDedent bool `json:"-"`
}

// MarshalJSON encodes the spec as the API expects it (handler, env and secrets).
func (s FunctionSpec) MarshalJSON() ([]byte, error) {
	type plain FunctionSpec
	v := struct {
		plain
		Handler *string                `json:"handler,omitempty"`
		Env     map[string]interface{} `json:"env,omitempty"`
	}{plain: plain(s)}
	if !s.NoDedent {
		v.Code = Dedent(s.Code)
	}
	if s.Stdio {
		empty := ""
		v.Handler = &empty
	} else if s.Handler != "" {
		v.Handler = &s.Handler
	}
	if len(s.Env)+len(s.SecretEnv) > 0 {
		v.Env = map[string]interface{}{}
		for k, x := range s.Env {
			v.Env[k] = x
		}
		for k, x := range s.SecretEnv {
			v.Env[k] = map[string]interface{}{"value": x, "secret": true}
		}
	}
	return json.Marshal(v)
}

// FunctionVersion is one deployed version of a function.
type FunctionVersion struct {
	// Name is the function's name.
	Name    string `json:"name"`
	Version int    `json:"version"`
	// ActiveVersion is the function's active version.
	ActiveVersion int       `json:"active_version"`
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by"`
	Language      string    `json:"language"`
	// Mode is "handler" (handler(event, context)) or "stdio" (event on stdin, stdout the body).
	Mode string `json:"mode"`
	// Handler is "module.function" ("" in stdio mode).
	Handler       string         `json:"handler"`
	Reuse         bool           `json:"reuse"`
	Public        bool           `json:"public"`
	MinInstances  int            `json:"min_instances"`
	MaxInstances  int            `json:"max_instances"`
	Concurrency   int            `json:"concurrency"`
	TimeoutMs     int            `json:"timeout_ms"`
	IdleTimeoutMs int            `json:"idle_timeout_ms"`
	Limits        map[string]int `json:"limits"`
	// Env holds the plain variables; a secret's value is never shown (its name is in Secrets).
	Env map[string]string `json:"-"`
	// Secrets names the secret variables, sorted.
	Secrets []string `json:"-"`
	// Files are the names of the version's files.
	Files      []string        `json:"files"`
	Schedule   []string        `json:"schedule"`
	Network    json.RawMessage `json:"network"`
	Isolation  string          `json:"isolation"`
	CodeSHA256 string          `json:"code_sha256"`
	// Description is "" when there is none.
	Description string `json:"description"`
	// Raw is the whole JSON object.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a version (env into Env and Secrets; Raw kept).
func (v *FunctionVersion) UnmarshalJSON(b []byte) error {
	type plain FunctionVersion
	x := struct {
		*plain
		Handler     *string                    `json:"handler"`
		Description *string                    `json:"description"`
		Env         map[string]json.RawMessage `json:"env"`
	}{plain: (*plain)(v)}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	if x.Handler != nil {
		v.Handler = *x.Handler
	}
	if x.Description != nil {
		v.Description = *x.Description
	}
	v.Env, v.Secrets = map[string]string{}, nil
	for k, raw := range x.Env {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			v.Env[k] = s
		} else {
			v.Secrets = append(v.Secrets, k)
		}
	}
	sort.Strings(v.Secrets)
	v.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// FunctionInstances is a function's load now.
type FunctionInstances struct {
	// Running counts warm instances.
	Running            int `json:"running"`
	InvocationsRunning int `json:"invocations_running"`
	InvocationsQueued  int `json:"invocations_queued"`
}

// FunctionInfo is a function: its versions' summary, aliases and load. Active
// (the active version's details) is set by GetFunction, SetFunctionAlias and
// DeleteFunctionAlias, nil in ListFunctions.
type FunctionInfo struct {
	Name          string    `json:"name"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	ActiveVersion int       `json:"active_version"`
	LatestVersion int       `json:"latest_version"`
	// Aliases maps each alias to its version.
	Aliases map[string]int `json:"aliases"`
	// Versions counts the versions kept.
	Versions  int               `json:"versions"`
	Instances FunctionInstances `json:"instances"`
	Active    *FunctionVersion  `json:"active,omitempty"`
	// Raw is the whole JSON object.
	Raw json.RawMessage `json:"-"`
}

func (f *FunctionInfo) setRaw(b json.RawMessage) {
	f.Raw = b
	if f.Active != nil { // the active version's object names neither
		f.Active.Name, f.Active.ActiveVersion = f.Name, f.ActiveVersion
	}
}

// InvocationHandle is the answer of InvokeFunctionAsync: the invocation's ID.
type InvocationHandle struct {
	ID       string `json:"id"`
	Function string `json:"function"`
	Version  int    `json:"version"`
	// State is "running".
	State string `json:"state"`
}

// InvocationResponse is the HTTP answer an asynchronous invocation made (in
// GetInvocation's, WaitInvocation's and FunctionLogs' Invocation, and in the
// callback's payload).
type InvocationResponse struct {
	Status int `json:"status"`
	// ContentType is its Content-Type ("" when it had none).
	ContentType string `json:"content_type"`
	// Headers are the function's own headers: lower-case names to values
	// (Content-Type is ContentType).
	Headers map[string]string `json:"headers"`
	// Body is text, or base64 when IsBase64 (see Bytes); "" when BodyDropped.
	Body string `json:"body"`
	// BodyDropped: the server did not keep the body (a node keeps at most 256 MiB
	// of asynchronous answers' bodies), so Body is "".
	BodyDropped bool `json:"body_dropped"`
	IsBase64    bool `json:"is_base64"`
}

// Bytes returns the body's bytes.
func (r *InvocationResponse) Bytes() ([]byte, error) {
	if r.IsBase64 {
		return base64.StdEncoding.DecodeString(r.Body)
	}
	return []byte(r.Body), nil
}

// Decode returns the answer as a FunctionResponse: Headers as an http.Header
// (Content-Type included), body decoded (empty when BodyDropped).
func (r *InvocationResponse) Decode() (*FunctionResponse, error) {
	b, err := r.Bytes()
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for k, v := range r.Headers {
		h.Set(k, v)
	}
	if r.ContentType != "" {
		h.Set("Content-Type", r.ContentType)
	}
	return &FunctionResponse{Status: r.Status, Header: h, Body: b}, nil
}

// Invocation is one invocation of a function (FunctionLogs, GetInvocation,
// WaitInvocation).
type Invocation struct {
	ID        string    `json:"id"`
	RequestID string    `json:"request_id"`
	Version   int       `json:"version"`
	StartedAt time.Time `json:"started_at"`
	// State is "running" or "done".
	State string `json:"state"`
	// Cold: a new sandbox was made for it.
	Cold bool `json:"cold"`
	// Async: made by InvokeFunctionAsync.
	Async bool `json:"async"`
	// Status is the run's ("ok", "runtime_error", "time_limit_exceeded", ...) once done.
	Status string `json:"status"`
	// Error is its error message, if it failed.
	Error string `json:"error"`
	// Logs is what the handler printed.
	Logs       string  `json:"logs"`
	DurationMs float64 `json:"duration_ms"`
	HTTPStatus int     `json:"http_status"`
	// Response is the answer itself: only for an asynchronous invocation that is done.
	Response *InvocationResponse `json:"response,omitempty"`
}

// UnmarshalJSON decodes an invocation (null strings become "").
func (i *Invocation) UnmarshalJSON(b []byte) error {
	type plain Invocation
	x := struct {
		*plain
		Status *string `json:"status"`
		Error  *string `json:"error"`
		Logs   *string `json:"logs"`
	}{plain: (*plain)(i)}
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	for _, p := range []struct {
		dst *string
		src *string
	}{{&i.Status, x.Status}, {&i.Error, x.Error}, {&i.Logs, x.Logs}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	return nil
}

// Done reports whether the invocation has ended.
func (i *Invocation) Done() bool { return i.State == "done" }

// FunctionError is why a function failed: the body of its 502
// ("function_error") or 504 ("function_timeout") answer. It is an answer of
// the function, returned in a FunctionResponse, not an error of the call.
type FunctionError struct {
	// Code is "function_error" or "function_timeout".
	Code    string `json:"code"`
	Message string `json:"message"`
	// Status is the run's ("runtime_error", "time_limit_exceeded", ...).
	Status string `json:"status"`
	// Type and Stack are the exception's, when the handler threw one.
	Type      string `json:"type"`
	Stack     string `json:"stack"`
	RequestID string `json:"-"`
}

// Error implements the error interface.
func (e *FunctionError) Error() string {
	return "soulbox: function failed: " + e.Code + ": " + e.Message
}

// FunctionResponse is a function's HTTP answer to InvokeFunction, as it is:
// whatever its status (a 404 it chose, its 502 failure: see FunctionError).
type FunctionResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports a 2xx status.
func (r *FunctionResponse) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Text returns the body as a string.
func (r *FunctionResponse) Text() string { return string(r.Body) }

// JSON decodes the body into v.
func (r *FunctionResponse) JSON(v interface{}) error { return json.Unmarshal(r.Body, v) }

// RequestID returns the invocation's request id (X-Request-Id), also in the function's logs.
func (r *FunctionResponse) RequestID() string { return r.Header.Get("X-Request-Id") }

// FunctionError returns the function's failure (a 502 "function_error" or 504
// "function_timeout" answer), else nil.
func (r *FunctionResponse) FunctionError() *FunctionError {
	if r.Status != 502 && r.Status != 504 {
		return nil
	}
	var env struct {
		Error     *FunctionError `json:"error"`
		RequestID string         `json:"request_id"`
	}
	if json.Unmarshal(r.Body, &env) != nil || env.Error == nil ||
		(env.Error.Code != "function_error" && env.Error.Code != "function_timeout") {
		return nil
	}
	env.Error.RequestID = env.RequestID
	return env.Error
}

// InvokeRequest is the HTTP request InvokeFunction makes; it becomes the
// function's event. Every field is optional.
type InvokeRequest struct {
	// Method is GET, POST (default), PUT, PATCH or DELETE.
	Method string
	// Path is the path the function sees (default "/"); the SDK escapes it.
	Path string
	// Query is the query string.
	Query url.Values
	// Header holds request headers for the function.
	Header http.Header
	// Body is sent as it is (Content-Type application/octet-stream unless Header says).
	Body []byte
	// JSON, when not nil, is sent as the body encoded as JSON (Content-Type application/json).
	JSON interface{}
	// Version is a version number ("2") or an alias; "" is the active version.
	Version string
}

// AsyncInvokeRequest starts an asynchronous invocation (InvokeFunctionAsync).
type AsyncInvokeRequest struct {
	// Event is the handler's event, a JSON object (nil: {}).
	Event interface{}
	// Version is a version number ("2") or an alias; "" is the active version.
	Version string
	// CallbackURL gets the ended invocation POSTed to it.
	CallbackURL string
}

// MarshalJSON encodes the request as the API expects it.
func (r AsyncInvokeRequest) MarshalJSON() ([]byte, error) {
	m := map[string]interface{}{}
	if r.Event != nil {
		m["event"] = r.Event
	}
	if r.Version != "" {
		m["version"] = versionRef(r.Version)
	}
	if r.CallbackURL != "" {
		m["callback_url"] = r.CallbackURL
	}
	return json.Marshal(m)
}

// versionRef is a version number as a number, an alias as a string.
func versionRef(v string) interface{} {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return n
	}
	return v
}

// DeployFunction deploys a new version of a function (POST /api/functions); it
// becomes the active version.
func (c *Client) DeployFunction(ctx context.Context, spec FunctionSpec) (*FunctionVersion, error) {
	v := new(FunctionVersion)
	if err := c.callJSON(ctx, rDeployFunction, nil, spec, v); err != nil {
		return nil, err
	}
	return v, nil
}

// ListFunctions returns the caller's functions (without Active).
func (c *Client) ListFunctions(ctx context.Context) ([]FunctionInfo, error) {
	var out struct {
		Functions []FunctionInfo `json:"functions"`
	}
	if err := c.callJSON(ctx, rListFunctions, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Functions, nil
}

// GetFunction returns one function with its active version (ErrNotFound if unknown).
func (c *Client) GetFunction(ctx context.Context, name string) (*FunctionInfo, error) {
	f := new(FunctionInfo)
	if err := c.callJSON(ctx, rGetFunction, []string{name}, nil, f); err != nil {
		return nil, err
	}
	return f, nil
}

// DeleteFunction deletes a function with all its versions.
func (c *Client) DeleteFunction(ctx context.Context, name string) error {
	return c.callJSON(ctx, rDeleteFunction, []string{name}, nil, nil)
}

// FunctionVersions returns every version kept, newest first (each with Name
// and ActiveVersion set).
func (c *Client) FunctionVersions(ctx context.Context, name string) ([]FunctionVersion, error) {
	var out struct {
		Name          string            `json:"name"`
		ActiveVersion int               `json:"active_version"`
		Versions      []FunctionVersion `json:"versions"`
	}
	if err := c.callJSON(ctx, rFunctionVersions, []string{name}, nil, &out); err != nil {
		return nil, err
	}
	for i := range out.Versions {
		if out.Versions[i].Name == "" {
			out.Versions[i].Name = out.Name
		}
		out.Versions[i].ActiveVersion = out.ActiveVersion
	}
	return out.Versions, nil
}

// RollbackFunction makes version the active version; 0 means the one before
// the active one.
func (c *Client) RollbackFunction(ctx context.Context, name string, version int) (*FunctionVersion, error) {
	body := map[string]int{}
	if version > 0 {
		body["version"] = version
	}
	v := new(FunctionVersion)
	if err := c.callJSON(ctx, rRollbackFunction, []string{name}, body, v); err != nil {
		return nil, err
	}
	return v, nil
}

// SetFunctionAlias points alias at version (made or moved); invoke it with
// InvokeRequest.Version = alias.
func (c *Client) SetFunctionAlias(ctx context.Context, name, alias string, version int) (*FunctionInfo, error) {
	f := new(FunctionInfo)
	if err := c.callJSON(ctx, rSetFunctionAlias, []string{name, alias}, map[string]int{"version": version}, f); err != nil {
		return nil, err
	}
	return f, nil
}

// DeleteFunctionAlias removes an alias (its version stays).
func (c *Client) DeleteFunctionAlias(ctx context.Context, name, alias string) (*FunctionInfo, error) {
	f := new(FunctionInfo)
	if err := c.callJSON(ctx, rDeleteFunctionAlias, []string{name, alias}, nil, f); err != nil {
		return nil, err
	}
	return f, nil
}

// FunctionLogs returns the function's last invocations, newest first (limit
// 1-1000; 0: the server's default, 20).
func (c *Client) FunctionLogs(ctx context.Context, name string, limit int) ([]Invocation, error) {
	q := &request{rt: rFunctionLogs, params: []string{name}}
	if limit > 0 {
		q.query = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	var out struct {
		Invocations []Invocation `json:"invocations"`
	}
	if err := c.call(ctx, q, &out); err != nil {
		return nil, err
	}
	return out.Invocations, nil
}

// InvokeFunction invokes a function over HTTP (/fn/{name}[@version][/path]) and
// returns its answer; req may be nil (a POST of nothing to "/"). The request
// becomes the function's event.
//
// The function's answer is returned as it is, whatever its status: a 404 it
// chose is a FunctionResponse with Status 404, and its failure a 502 (504:
// its timeout) whose parsed body is FunctionResponse.FunctionError. Only
// SoulBox's own refusals are errors: ErrNotFound (no such function, version or
// alias), ErrAuthentication, ErrRateLimited / ErrUnavailable (after the
// retries; a function's own 429/503 is never retried)... An answer with
// X-SoulBox-Function-Status is the function's; without it, SoulBox's error body
// ({"error": {"code", "message"}} with one of its codes) is a refusal.
func (c *Client) InvokeFunction(ctx context.Context, name string, req *InvokeRequest) (*FunctionResponse, error) {
	if req == nil {
		req = &InvokeRequest{}
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = "POST"
	}
	pair, ok := invokeRoutes[method]
	if !ok {
		return nil, errorf(ErrInvalidRequest, "invalid_argument", "method must be GET, POST, PUT, PATCH or DELETE, not %q", req.Method)
	}
	target := url.PathEscape(name)
	if req.Version != "" {
		target += "@" + url.PathEscape(req.Version)
	}
	q := &request{rt: pair[0], params: []string{target}, rawParams: true, query: req.Query,
		accept: "*/*", passthrough: true, header: http.Header{}}
	if sub := strings.TrimPrefix(req.Path, "/"); sub != "" {
		segs := strings.Split(sub, "/")
		for i, s := range segs {
			segs[i] = url.PathEscape(s)
		}
		q.rt, q.params = pair[1], append(q.params, strings.Join(segs, "/"))
	}
	switch {
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, &Error{Code: "invalid_request", Message: err.Error(), kind: ErrInvalidRequest, cause: err}
		}
		q.body, q.ctype = b, "application/json"
	case req.Body != nil:
		q.body, q.ctype = req.Body, "application/octet-stream"
	}
	for k, v := range req.Header {
		q.header[textproto.CanonicalMIMEHeaderKey(k)] = v
	}
	resp, err := c.do(ctx, q, false)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.readErr(ctx, err)
	}
	return &FunctionResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// InvokeFunctionAsync starts an invocation with req.Event as the handler's event
// and returns at once; follow it with GetInvocation or WaitInvocation.
func (c *Client) InvokeFunctionAsync(ctx context.Context, name string, req AsyncInvokeRequest) (*InvocationHandle, error) {
	h := new(InvocationHandle)
	if err := c.callJSON(ctx, rInvokeAsync, []string{name}, req, h); err != nil {
		return nil, err
	}
	return h, nil
}

// GetInvocation returns one invocation: running, or done (an asynchronous one
// with its Response).
func (c *Client) GetInvocation(ctx context.Context, name, id string) (*Invocation, error) {
	inv := new(Invocation)
	if err := c.callJSON(ctx, rGetInvocation, []string{name, id}, nil, inv); err != nil {
		return nil, err
	}
	return inv, nil
}

// WaitInvocation polls an invocation until it is done, and returns it; past
// opts.Timeout (default 300 s) ErrTimeout. opts may be nil.
func (c *Client) WaitInvocation(ctx context.Context, name, id string, opts *WaitOptions) (*Invocation, error) {
	var inv *Invocation
	err := pollDone(ctx, opts, "invocation "+id, func() (bool, string, error) {
		var err error
		if inv, err = c.GetInvocation(ctx, name, id); err != nil {
			return false, "", err
		}
		return inv.Done(), inv.State, nil
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}
