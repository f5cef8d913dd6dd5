// Package soulbox is the Go client of SoulBox, a self-hosted service that runs
// untrusted code in sandboxes: single executions (with files, stdin,
// arguments, limits and test cases), asynchronous executions, interactive
// streaming over WebSocket, and sessions (long-lived sandboxes with commands,
// files and code contexts).
//
//	client := soulbox.NewClient("localhost:8080")
//	result, err := client.Execute(ctx, soulbox.ExecuteRequest{Language: "python", Code: code})
//	if err != nil { ... }
//	fmt.Print(result.Stdout)
//
// The server comes from NewClient's argument, else SOULBOX_URL, else
// http://localhost:8080; the API key from WithAPIKey, else SOULBOX_API_KEY.
// Every call takes a context.Context first; the client-wide timeout (default
// 300 s, WithTimeout) bounds each HTTP call as well. 429 and 503 answers are
// retried honouring Retry-After (WithMaxRetries); connections are kept alive
// and reused. Failed calls return a *Error, whose kind errors.Is tells
// (ErrNotFound, ErrRateLimited, ...).
//
// The package uses the standard library only.
package soulbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Version is the SDK's version; it follows the server's and the OpenAPI spec's info.version.
const Version = "0.1.0"

// DefaultTimeout is the client-wide timeout of each HTTP call.
const DefaultTimeout = 300 * time.Second

// DefaultMaxRetries is how many times a 429/503 answer is retried by default.
const DefaultMaxRetries = 3

const maxRetryWait = 30 * time.Second

// Client talks to one SoulBox server. It is safe for concurrent use; create
// one and reuse it (it holds the connection pool).
type Client struct {
	base       string // scheme://host[:port][/prefix], no trailing slash
	baseErr    error
	apiKey     string
	auth       string // "Bearer KEY" or ""
	timeout    time.Duration
	maxRetries int
	hc         *http.Client
	userAgent  string
}

// Option configures a Client (see NewClient).
type Option func(*Client)

// WithAPIKey sets the API key, sent as "Authorization: Bearer KEY" (default:
// SOULBOX_API_KEY, else none).
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithTimeout sets the client-wide timeout of each HTTP call (default 300 s; 0: none).
// A call's context deadline applies as well, whichever comes first.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithMaxRetries sets how many times a 429 or 503 answer (and, for GET and
// DELETE, a refused or reset connection) is retried (default 3; 0 turns
// retries off).
func WithMaxRetries(n int) Option {
	return func(c *Client) {
		if n < 0 {
			n = 0
		}
		c.maxRetries = n
	}
}

// WithHTTPClient makes the client send its requests with hc (its Transport
// pools the connections). By default the client has its own keep-alive pool.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent sets the User-Agent header (default "soulbox-go/<Version>").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// NewClient returns a client of the server at server: "host:port" (meaning
// http://host:port) or an http(s) URL, whose path prefix is kept. An empty
// server means SOULBOX_URL, else http://localhost:8080.
func NewClient(server string, opts ...Option) *Client {
	c := &Client{
		apiKey:     os.Getenv("SOULBOX_API_KEY"),
		timeout:    DefaultTimeout,
		maxRetries: DefaultMaxRetries,
		userAgent:  "soulbox-go/" + Version,
	}
	for _, o := range opts {
		o(c)
	}
	if server == "" {
		server = os.Getenv("SOULBOX_URL")
	}
	if server == "" {
		server = "http://localhost:8080"
	}
	c.base, c.baseErr = normalizeBase(server)
	if c.apiKey != "" {
		c.auth = "Bearer " + c.apiKey
	}
	if c.hc == nil {
		c.hc = &http.Client{Transport: newTransport()}
	}
	return c
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   false,
	}
}

func normalizeBase(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("server URL must be host:port or http(s)://host[:port][/prefix]: " + s)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// BaseURL returns the server URL the client talks to (scheme, host, port and prefix).
func (c *Client) BaseURL() string { return c.base }

// Close releases the client's idle connections. The client stays usable.
func (c *Client) Close() {
	c.hc.CloseIdleConnections()
}

// APIKey returns the API key the client sends ("" for none).
func (c *Client) APIKey() string { return c.apiKey }

// request describes one HTTP call.
type request struct {
	rt     *route
	params []string
	query  url.Values
	body   []byte
	ctype  string
	accept string
	// rawParams: params are already escaped (a function's name@version, its path).
	rawParams bool
	// header: more headers, set after the SDK's (they win).
	header http.Header
	// passthrough (a function's invocation): an error status that is the function's own
	// answer is returned like a success, not retried; redirects are not followed.
	passthrough bool
}

// functionStatusHeader is on an answer that is a function's own.
const functionStatusHeader = "X-SoulBox-Function-Status"

// refusalCodes are the error codes of SoulBox's own refusals.
var refusalCodes = map[string]bool{
	"invalid_argument": true, "limit_exceeds_max": true, "unauthenticated": true,
	"permission_denied": true, "not_found": true, "method_not_allowed": true, "request_timeout": true,
	"payload_too_large": true, "unsupported_media_type": true, "conflict": true,
	"unknown_language": true, "upgrade_required": true, "rate_limited": true,
	"headers_too_large": true, "internal_error": true, "sandbox_setup_failed": true,
	"unavailable": true, "http_version_not_supported": true, "invalid_config": true,
}

// isFunctionAnswer tells whether an error answer on /fn/... is the function's
// own (to return) rather than SoulBox refusing: it has X-SoulBox-Function-Status,
// or its body is not SoulBox's error body {"error": {"code", "message"}} with one
// of its codes (function_error and function_timeout are the function's).
func isFunctionAnswer(h http.Header, body []byte) bool {
	if len(h.Values(functionStatusHeader)) > 0 {
		return true
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(body, &env) != nil || len(env) != 1 {
		return true
	}
	var e struct {
		Code interface{} `json:"code"`
	}
	if json.Unmarshal(env["error"], &e) != nil {
		return true
	}
	code, ok := e.Code.(string)
	return !ok || !refusalCodes[code]
}

// noRedirect makes an http.Client return a redirect as it is.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// rawResponse is an answered call whose body is to be read by the caller, who
// must Close it (this also releases the call's timeout).
type rawResponse struct {
	*http.Response
	cancel context.CancelFunc
	stop   func() bool
}

func (r *rawResponse) Close() error {
	err := r.Body.Close()
	if r.stop != nil {
		r.stop()
	}
	if r.cancel != nil {
		r.cancel()
	}
	return err
}

// do sends the request, retrying 429/503 (and connection failures of GET and
// DELETE), and returns the 2xx response. stream: the client-wide timeout
// covers the wait for the response headers only.
func (c *Client) do(ctx context.Context, q *request, stream bool) (*rawResponse, error) {
	if c.baseErr != nil {
		return nil, &Error{Code: "invalid_url", Message: c.baseErr.Error(), kind: ErrConnection, cause: c.baseErr}
	}
	var u string
	if q.rawParams {
		u = c.base + q.rt.fill(q.params)
	} else {
		u = c.base + q.rt.expand(q.params)
	}
	if len(q.query) > 0 {
		u += "?" + q.query.Encode()
	}
	var cancel context.CancelFunc
	var timer *time.Timer
	var fired int32
	if c.timeout > 0 {
		if stream {
			ctx, cancel = context.WithCancel(ctx)
			cf := cancel
			timer = time.AfterFunc(c.timeout, func() { atomic.StoreInt32(&fired, 1); cf() })
		} else {
			ctx, cancel = context.WithTimeout(ctx, c.timeout)
		}
	}
	ctxFail := func(err error) error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || atomic.LoadInt32(&fired) == 1 {
			return timeoutError(err)
		}
		return ctx.Err()
	}
	fail := func(err error) (*rawResponse, error) {
		if timer != nil {
			timer.Stop()
		}
		if cancel != nil {
			cancel()
		}
		return nil, err
	}
	idempotent := q.rt.method == "GET" || q.rt.method == "DELETE"
	hc := c.hc
	if q.passthrough {
		cp := *c.hc
		cp.CheckRedirect = noRedirect
		hc = &cp
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if q.body != nil {
			body = bytes.NewReader(q.body)
		}
		req, err := http.NewRequestWithContext(ctx, q.rt.method, u, body)
		if err != nil {
			return fail(&Error{Code: "invalid_request", Message: err.Error(), kind: ErrInvalidRequest, cause: err})
		}
		h := req.Header
		if c.auth != "" {
			h["Authorization"] = []string{c.auth}
		}
		if q.ctype != "" {
			h["Content-Type"] = []string{q.ctype}
		}
		if q.accept != "" {
			h["Accept"] = []string{q.accept}
		}
		h["User-Agent"] = []string{c.userAgent}
		for k, v := range q.header {
			h[http.CanonicalHeaderKey(k)] = v
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctxFail(err))
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fail(timeoutError(err))
			}
			if idempotent && attempt < c.maxRetries && retryableConnErr(err) {
				if werr := sleepCtx(ctx, backoff(attempt)); werr != nil {
					return fail(ctxFail(werr))
				}
				continue
			}
			return fail(connectionError(err))
		}
		if q.passthrough && (resp.StatusCode < 400 || len(resp.Header.Values(functionStatusHeader)) > 0) {
			return &rawResponse{Response: resp, cancel: cancel}, nil
		}
		if resp.StatusCode >= 300 {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if q.passthrough && isFunctionAnswer(resp.Header, b) {
				resp.Body = io.NopCloser(bytes.NewReader(b))
				return &rawResponse{Response: resp, cancel: cancel}, nil
			}
			apiErr := newAPIError(resp.StatusCode, resp.Header, b)
			if (resp.StatusCode == 429 || resp.StatusCode == 503) && attempt < c.maxRetries {
				wait := backoff(attempt)
				if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
					wait = ra
				}
				if wait > maxRetryWait {
					wait = maxRetryWait
				}
				if werr := sleepCtx(ctx, wait); werr != nil {
					return fail(ctxFail(werr))
				}
				continue
			}
			return fail(apiErr)
		}
		rr := &rawResponse{Response: resp, cancel: cancel}
		if timer != nil {
			if !timer.Stop() {
				resp.Body.Close()
				return fail(timeoutError(context.DeadlineExceeded))
			}
		}
		return rr, nil
	}
}

func backoff(attempt int) time.Duration {
	return time.Duration(float64(500*time.Millisecond) * math.Pow(2, float64(attempt)))
}

func retryableConnErr(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rawSetter is implemented by results that keep their raw JSON.
type rawSetter interface{ setRaw(json.RawMessage) }

// call sends q and decodes a JSON answer into out (nil: the body is discarded).
func (c *Client) call(ctx context.Context, q *request, out interface{}) error {
	resp, err := c.do(ctx, q, false)
	if err != nil {
		return err
	}
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return c.readErr(ctx, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &Error{Code: "invalid_response", Message: "cannot decode the answer: " + err.Error(),
			Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id"), Body: b, kind: ErrServer, cause: err}
	}
	if rs, ok := out.(rawSetter); ok {
		rs.setRaw(b)
	}
	return nil
}

// callBytes sends q and returns the raw body.
func (c *Client) callBytes(ctx context.Context, q *request) ([]byte, error) {
	resp, err := c.do(ctx, q, false)
	if err != nil {
		return nil, err
	}
	defer resp.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, c.readErr(ctx, err)
	}
	return b, nil
}

func (c *Client) readErr(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return timeoutError(err)
	}
	return connectionError(err)
}

// jsonRequest builds a request with a JSON body.
func jsonRequest(rt *route, params []string, in interface{}) (*request, error) {
	q := &request{rt: rt, params: params, ctype: "application/json"}
	if in == nil {
		return q, nil
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, &Error{Code: "invalid_request", Message: err.Error(), kind: ErrInvalidRequest, cause: err}
	}
	q.body = b
	return q, nil
}

// callJSON marshals in (nil: no body), sends it and decodes the answer into out.
func (c *Client) callJSON(ctx context.Context, rt *route, params []string, in, out interface{}) error {
	q, err := jsonRequest(rt, params, in)
	if err != nil {
		return err
	}
	if in == nil {
		q.ctype = ""
	}
	return c.call(ctx, q, out)
}
