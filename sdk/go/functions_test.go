package soulbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Serverless functions against the real server: deploy, invoke over HTTP (text
// and bytes), the function's own error statuses returned (not errors),
// versions, rollback, aliases, logs, asynchronous invocations, delete.

var fnSuffix = strconv.Itoa(os.Getpid() % 100000)

const echoCode = `
	import base64, os

	def handler(event, context):
	    print("invoked")
	    if "probe" in event:                         # an asynchronous invocation's event
	        if event["probe"] == "boom":
	            raise ValueError("bad thing")
	        return {"headers": {"X-Probe": "yes"},
	                "body": {"got": event["probe"], "version": context.function_version}}
	    path = event["path"]
	    if path == "/missing":
	        return {"status": 404, "body": {"nope": True}}
	    if path == "/busy":
	        return {"status": 503, "headers": {"Retry-After": "0"}, "body": "busy"}
	    if path == "/mimic":                         # a body like SoulBox's own refusal
	        return {"status": 503, "headers": {"Retry-After": "0"},
	                "body": {"error": {"code": "unavailable", "message": "mimic"}}}
	    if path == "/boom":
	        raise ValueError("bad thing")
	    if path == "/bin":
	        data = base64.b64decode(event["body"]) if event["is_base64"] else event["body"].encode()
	        return data[::-1]
	    return {"status": 201, "headers": {"X-Echo": event["headers"].get("x-test", "")},
	            "body": {"method": event["method"], "path": path, "query": event["query"],
	                     "raw_query": event["raw_query"], "body": event["body"],
	                     "content_type": event["headers"].get("content-type"),
	                     "env": [os.environ.get("A"), os.environ.get("S")]}}
	`

// deployEcho deploys the echo function (deleted when the test ends).
func deployEcho(t *testing.T, c *Client) (string, *FunctionVersion) {
	t.Helper()
	name := "sdkgo-echo-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")) + "-" + fnSuffix
	if len(name) > 63 {
		name = name[len(name)-63:]
	}
	name = strings.TrimLeft(name, "-_")
	v, err := c.DeployFunction(testCtx(t), FunctionSpec{
		Name: name, Language: "python", Code: echoCode,
		Env: map[string]string{"A": "plain"}, SecretEnv: map[string]string{"S": "s3cret"},
		Description: "the SDK's echo",
	})
	must(t, err)
	t.Cleanup(func() { _ = c.DeleteFunction(testCtx(t), name) })
	return name, v
}

func TestFunctionInvokeRoundTrip(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	name, v := deployEcho(t, c)
	eq(t, "version", sp(v.Name, v.Version, v.ActiveVersion, v.Language, v.Mode, v.Handler), sp(name, 1, 1, "python", "handler", "main.handler"))
	eq(t, "env", sp(v.Env, v.Secrets, v.Files), "map[A:plain] [S] [main.py]")
	eq(t, "sha", len(v.CodeSHA256), 64)
	eq(t, "description", v.Description, "the SDK's echo")

	r, err := c.InvokeFunction(ctx, name, &InvokeRequest{
		Method: "put", Path: "/a b/c", Query: url.Values{"x": {"1"}, "y": {"2", "3"}},
		Header: http.Header{"X-Test": {"yo"}}, Body: []byte("hello"),
	})
	must(t, err)
	eq(t, "status", r.Status, 201)
	if !r.OK() || r.FunctionError() != nil || len(r.RequestID()) != 32 {
		t.Fatalf("response %+v", r)
	}
	eq(t, "x-echo", r.Header.Get("X-Echo"), "yo")
	var ev struct {
		Method, Path, Body, RawQuery string
		Query                        map[string]string
		ContentType                  string `json:"content_type"`
		Env                          []string
	}
	must(t, r.JSON(&ev))
	eq(t, "event", sp(ev.Method, ev.Path, ev.Body, ev.Query["x"], ev.ContentType, ev.Env),
		sp("PUT", "/a b/c", "hello", "1", "application/octet-stream", []string{"plain", "s3cret"}))
	var raw map[string]interface{}
	must(t, r.JSON(&raw))
	eq(t, "raw query", raw["raw_query"], "x=1&y=2&y=3")

	r, err = c.InvokeFunction(ctx, name, &InvokeRequest{JSON: map[string]interface{}{"k": []int{1, 2}}})
	must(t, err)
	must(t, r.JSON(&raw))
	eq(t, "json body", sp(raw["method"], raw["path"], raw["body"], raw["content_type"]), `POST / {"k":[1,2]} application/json`)
	r, err = c.InvokeFunction(ctx, name, &InvokeRequest{Method: "GET", Header: http.Header{"content-type": {"text/plain"}}})
	must(t, err)
	must(t, r.JSON(&raw))
	eq(t, "get", raw["method"], "GET")
	r, err = c.InvokeFunction(ctx, name, nil)
	must(t, err)
	eq(t, "nil request", r.Status, 201)

	// bytes in, bytes out
	data := make([]byte, 768)
	for i := range data {
		data[i] = byte(i)
	}
	r, err = c.InvokeFunction(ctx, name, &InvokeRequest{Path: "/bin", Body: data})
	must(t, err)
	eq(t, "bin status", r.Status, 200)
	eq(t, "bin type", r.Header.Get("Content-Type"), "application/octet-stream")
	rev := make([]byte, len(data))
	for i := range data {
		rev[i] = data[len(data)-1-i]
	}
	if !bytes.Equal(r.Body, rev) {
		t.Fatalf("binary body: got %d bytes % x...", len(r.Body), r.Body[:8])
	}
}

func TestFunctionOwnErrorsAreAnswers(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	name, _ := deployEcho(t, c)
	// the function's own 404 is its answer, not an error
	r, err := c.InvokeFunction(ctx, name, &InvokeRequest{Method: "GET", Path: "/missing"})
	must(t, err)
	eq(t, "404", sp(r.Status, r.OK(), r.Text(), r.FunctionError() == nil), `404 false {"nope":true} true`)
	// so is its 503: returned at once, not retried
	t0 := time.Now()
	r, err = c.InvokeFunction(ctx, name, &InvokeRequest{Path: "/busy"})
	must(t, err)
	eq(t, "503", sp(r.Status, r.Text(), r.Header.Get("Retry-After")), "503 busy 0")
	if time.Since(t0) > 2*time.Second {
		t.Fatal("the function's 503 was retried")
	}
	// every answer of the function carries X-SoulBox-Function-Status, so even a
	// body shaped like SoulBox's own refusal is its answer: returned, not retried
	t0 = time.Now()
	r, err = c.InvokeFunction(ctx, name, &InvokeRequest{Path: "/mimic"})
	must(t, err)
	eq(t, "mimic", sp(r.Status, r.Header.Get("X-SoulBox-Function-Status"), r.Text()),
		`503 503 {"error":{"code":"unavailable","message":"mimic"}}`)
	if time.Since(t0) > 2*time.Second {
		t.Fatal("the function's 503 was retried")
	}
	// its failure is a 502 with the parsed error
	r, err = c.InvokeFunction(ctx, name, &InvokeRequest{Path: "/boom"})
	must(t, err)
	eq(t, "502", sp(r.Status, r.Header.Get("X-SoulBox-Function-Status")), "502 502")
	fe := r.FunctionError()
	if fe == nil {
		t.Fatalf("no function error in %s", r.Body)
	}
	eq(t, "error", sp(fe.Code, fe.Status, fe.Type), "function_error runtime_error ValueError")
	if !strings.Contains(fe.Message, "bad thing") || !strings.Contains(fe.Stack, "raise ValueError") {
		t.Fatalf("error %+v", fe)
	}
	eq(t, "request id", fe.RequestID, r.RequestID())
	var asErr error = fe
	if !strings.Contains(asErr.Error(), "bad thing") {
		t.Fatal(asErr)
	}

	// SoulBox's own refusals are errors
	_, err = c.InvokeFunction(ctx, "sdkgo-no-such-function-"+fnSuffix, nil)
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Status != 404 || e.Code != "not_found" {
		t.Fatalf("missing function: %v", err)
	}
	if _, err = c.InvokeFunction(ctx, name, &InvokeRequest{Version: "99"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	other := NewClient("", WithAPIKey(os.Getenv("SOULBOX_TEST_OTHER_KEY")))
	if _, err = other.InvokeFunction(ctx, name, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("another key's function: %v", err)
	}
	if _, err = NewClient("", WithAPIKey("wrong-key-0123456789")).InvokeFunction(ctx, name, nil); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err = c.GetFunction(ctx, "sdkgo-no-such-function-"+fnSuffix); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err = c.DeployFunction(ctx, FunctionSpec{Name: "Bad Name!", Language: "python", Code: "x = 1"}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err = c.DeployFunction(ctx, FunctionSpec{Name: "sdkgo-cobol-" + fnSuffix, Language: "cobol", Code: "x"}); !errors.Is(err, ErrUnknownLanguage) {
		t.Fatalf("cobol: %v", err)
	}
	if _, err = c.InvokeFunction(ctx, name, &InvokeRequest{Method: "TRACE"}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("TRACE: %v", err)
	}
}

func TestFunctionAsyncInvocation(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	name, _ := deployEcho(t, c)
	h, err := c.InvokeFunctionAsync(ctx, name, AsyncInvokeRequest{Event: map[string]interface{}{"probe": map[string]int{"k": 1}}})
	must(t, err)
	eq(t, "handle", sp(h.Function, h.Version, h.State, len(h.ID)), sp(name, 1, "running", 36))
	inv, err := c.WaitInvocation(ctx, name, h.ID, &WaitOptions{Timeout: time.Minute, PollInterval: 50 * time.Millisecond})
	must(t, err)
	eq(t, "invocation", sp(inv.ID == h.ID, inv.Done(), inv.Async, inv.Status, inv.HTTPStatus, inv.Error), "true true true ok 200 ")
	eq(t, "logs", inv.Logs, "invoked\n")
	if inv.Response == nil {
		t.Fatal("no response")
	}
	fr, err := inv.Response.Decode()
	must(t, err)
	eq(t, "record", sp(inv.Response.ContentType, inv.Response.Headers, inv.Response.BodyDropped), "application/json map[x-probe:yes] false")
	eq(t, "response", sp(fr.Status, fr.Header.Get("Content-Type"), fr.Header.Get("X-Probe"), fr.Text()), `200 application/json yes {"got":{"k":1},"version":1}`)
	got, err := c.GetInvocation(ctx, name, h.ID)
	must(t, err)
	eq(t, "get", got.ID, h.ID)

	// a failed asynchronous invocation keeps its 502 answer
	h, err = c.InvokeFunctionAsync(ctx, name, AsyncInvokeRequest{Event: map[string]string{"probe": "boom"}, Version: "1"})
	must(t, err)
	inv, err = c.WaitInvocation(ctx, name, h.ID, &WaitOptions{PollInterval: 50 * time.Millisecond})
	must(t, err)
	eq(t, "failed", sp(inv.Status, inv.HTTPStatus, inv.Response.Status, len(inv.Response.Headers)), "runtime_error 502 502 0")
	fr, err = inv.Response.Decode()
	must(t, err)
	if fe := fr.FunctionError(); fe == nil || fe.Type != "ValueError" {
		t.Fatalf("async function error: %s", fr.Body)
	}
	if _, err = c.GetInvocation(ctx, name, "00000000-0000-0000-0000-000000000000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing invocation: %v", err)
	}
}

func TestFunctionTimeoutIsA504Answer(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	name := "sdkgo-slow-" + fnSuffix
	_, err := c.DeployFunction(ctx, FunctionSpec{Name: name, Language: "python", TimeoutMs: 1000,
		Code: "import time\n\ndef handler(event, context):\n    time.sleep(30)\n"})
	must(t, err)
	t.Cleanup(func() { _ = c.DeleteFunction(testCtx(t), name) })
	r, err := c.InvokeFunction(ctx, name, nil)
	must(t, err)
	eq(t, "504", sp(r.Status, r.Header.Get("X-SoulBox-Function-Status")), "504 504")
	fe := r.FunctionError()
	if fe == nil {
		t.Fatalf("no function error in %s", r.Body)
	}
	eq(t, "timeout", sp(fe.Code, fe.Status, fe.RequestID == r.RequestID()), "function_timeout time_limit_exceeded true")
}

func TestFunctionVersionsAliasesLogs(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	name := "sdkgo-ver-" + fnSuffix
	code := func(n int) string { return fmt.Sprintf("def handler(event, context):\n    return \"v%d\"\n", n) }
	text := func(req *InvokeRequest) string {
		t.Helper()
		r, err := c.InvokeFunction(ctx, name, req)
		must(t, err)
		return r.Text()
	}
	defer func() { _ = c.DeleteFunction(testCtx(t), name) }()
	v, err := c.DeployFunction(ctx, FunctionSpec{Name: name, Language: "python", Code: code(1)})
	must(t, err)
	eq(t, "v1", v.Version, 1)
	v, err = c.DeployFunction(ctx, FunctionSpec{Name: name, Language: "python", Code: code(2)})
	must(t, err)
	eq(t, "v2", sp(v.Version, v.ActiveVersion), "2 2")
	eq(t, "active v2", text(nil), "v2")
	v, err = c.RollbackFunction(ctx, name, 0)
	must(t, err)
	eq(t, "rollback", sp(v.Name, v.Version, v.ActiveVersion), sp(name, 1, 1))
	eq(t, "active v1", text(nil), "v1")
	eq(t, "@2", text(&InvokeRequest{Version: "2"}), "v2")

	_, err = c.SetFunctionAlias(ctx, name, "beta", 2)
	must(t, err)
	eq(t, "@beta", text(&InvokeRequest{Version: "beta"}), "v2")
	info, err := c.GetFunction(ctx, name)
	must(t, err)
	eq(t, "info", sp(info.Name, info.ActiveVersion, info.LatestVersion, info.Versions, info.Aliases), sp(name, 1, 2, 2, map[string]int{"beta": 2}))
	if info.Active == nil || info.Active.Version != 1 || info.Active.Name != name || info.Instances.InvocationsQueued != 0 {
		t.Fatalf("info %+v", info)
	}

	vs, err := c.FunctionVersions(ctx, name)
	must(t, err)
	var nums []int
	for _, v := range vs {
		nums = append(nums, v.Version)
		if v.Name != name || v.ActiveVersion != 1 {
			t.Fatalf("version %+v", v)
		}
	}
	eq(t, "versions", nums, []int{2, 1})

	logs, err := c.FunctionLogs(ctx, name, 3)
	must(t, err)
	nums = nil
	for _, l := range logs {
		nums = append(nums, l.Version)
		if !l.Done() || l.Async || l.Status != "ok" || l.HTTPStatus != 200 {
			t.Fatalf("log %+v", l)
		}
	}
	eq(t, "logs", nums, []int{2, 2, 1})

	all, err := c.ListFunctions(ctx)
	must(t, err)
	if !hasFunction(all, name) {
		t.Fatal("not listed")
	}
	_, err = c.DeleteFunctionAlias(ctx, name, "beta")
	must(t, err)
	info, err = c.GetFunction(ctx, name)
	must(t, err)
	eq(t, "no aliases", len(info.Aliases), 0)
	if _, err = c.InvokeFunction(ctx, name, &InvokeRequest{Version: "beta"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted alias: %v", err)
	}
	v, err = c.RollbackFunction(ctx, name, 2)
	must(t, err)
	eq(t, "rollback to 2", v.ActiveVersion, 2)
	eq(t, "active v2 again", text(nil), "v2")

	must(t, c.DeleteFunction(ctx, name))
	if _, err = c.GetFunction(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted get: %v", err)
	}
	if _, err = c.InvokeFunction(ctx, name, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted invoke: %v", err)
	}
	all, err = c.ListFunctions(ctx)
	must(t, err)
	if hasFunction(all, name) {
		t.Fatal("still listed")
	}
}

// sp prints its operands separated by spaces.
func sp(a ...interface{}) string { return strings.TrimSuffix(fmt.Sprintln(a...), "\n") }

func hasFunction(fs []FunctionInfo, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

// The deploy and async bodies, without a server.
func TestFunctionRequestShapes(t *testing.T) {
	b, err := FunctionSpec{Name: "f", Language: "python", Code: "\n\tdef handler(e, c):\n\t    return 1\n",
		Env: map[string]string{"A": "1"}, SecretEnv: map[string]string{"B": "b"}, Reuse: true}.MarshalJSON()
	must(t, err)
	eq(t, "spec", string(b), `{"name":"f","language":"python","code":"def handler(e, c):\n    return 1\n","reuse":true,"env":{"A":"1","B":{"secret":true,"value":"b"}}}`)
	b, err = FunctionSpec{Name: "f", Language: "bash", Code: "cat", Stdio: true, NoDedent: true}.MarshalJSON()
	must(t, err)
	eq(t, "stdio", string(b), `{"name":"f","language":"bash","code":"cat","handler":""}`)
	b, err = AsyncInvokeRequest{Event: map[string]int{"a": 1}, Version: "3"}.MarshalJSON()
	must(t, err)
	eq(t, "async", string(b), `{"event":{"a":1},"version":3}`)
	b, err = AsyncInvokeRequest{Version: "prod", CallbackURL: "http://h/x"}.MarshalJSON()
	must(t, err)
	eq(t, "async alias", string(b), `{"callback_url":"http://h/x","version":"prod"}`)
	var fv FunctionVersion
	must(t, fv.UnmarshalJSON([]byte(`{"version":1,"handler":null,"description":null,"env":{"A":"1","S":{"secret":true}}}`)))
	if !reflect.DeepEqual(fv.Env, map[string]string{"A": "1"}) || !reflect.DeepEqual(fv.Secrets, []string{"S"}) || fv.Handler != "" {
		t.Fatalf("version %+v", fv)
	}
	// an asynchronous invocation's record: the function's headers as an object, a dropped body
	var inv Invocation
	must(t, json.Unmarshal([]byte(`{"id":"i","state":"done","status":"ok","http_status":201,"response":`+
		`{"status":201,"content_type":"text/plain","headers":{"x-a":"1","set-cookie":"c=1"},"body":"","body_dropped":true,"is_base64":false}}`), &inv))
	eq(t, "record", sp(inv.Response.Status, inv.Response.ContentType, inv.Response.Headers, inv.Response.BodyDropped),
		"201 text/plain map[set-cookie:c=1 x-a:1] true")
	fr, err := inv.Response.Decode()
	must(t, err)
	eq(t, "decoded", sp(fr.Status, fr.Header.Get("Content-Type"), fr.Header.Get("X-A"), fr.Header.Get("Set-Cookie"), len(fr.Body)),
		"201 text/plain 1 c=1 0")
	var plain InvocationResponse
	must(t, json.Unmarshal([]byte(`{"status":200,"content_type":null,"headers":{},"body":"aGk=","is_base64":true}`), &plain))
	fr, err = plain.Decode()
	must(t, err)
	eq(t, "no headers", sp(plain.BodyDropped, len(fr.Header), fr.Text()), "false 0 hi")

	refusal := []byte(`{"error":{"code":"not_found","message":"no such function: f"}}`)
	if !isFunctionAnswer(http.Header{"X-Soulbox-Function-Status": {"404"}}, refusal) || isFunctionAnswer(http.Header{}, refusal) ||
		!isFunctionAnswer(http.Header{}, []byte(`{"nope":true}`)) || !isFunctionAnswer(http.Header{}, nil) ||
		!isFunctionAnswer(http.Header{}, []byte(`{"error":{"code":"bad_input","message":"x"}}`)) ||
		!isFunctionAnswer(http.Header{}, []byte(`{"error":{"code":"function_timeout"},"request_id":"r"}`)) ||
		isFunctionAnswer(http.Header{}, []byte(`{"error":{"code":"internal_error","message":"x"}}`)) ||
		!isFunctionAnswer(http.Header{}, []byte(`{"error":{"code":["x"]}}`)) {
		t.Fatal("isFunctionAnswer")
	}
}

// Against a stub: with X-SoulBox-Function-Status, or without SoulBox's error
// body, an error status is the function's answer (returned, never retried; a
// redirect not followed); SoulBox's error body is a refusal (429/503 retried,
// then an error).
func TestFunctionAnswersAndRefusalsAreToldApart(t *testing.T) {
	refusal := `{"error":{"code":"not_found","message":"no such function: f"}}`
	type answer struct {
		status int
		header map[string]string
		body   string
	}
	answers := []answer{
		{404, nil, `{"nope":true}`},
		{503, map[string]string{"Content-Type": "text/plain", "Retry-After": "0"}, "busy"},
		{302, map[string]string{"Location": "/elsewhere", "X-SoulBox-Function-Status": "302"}, ""},
		{404, map[string]string{"X-SoulBox-Function-Status": "404"}, refusal},
		{503, map[string]string{"Retry-After": "0"}, `{"error":{"code":"unavailable","message":"queue full"}}`},
		{200, map[string]string{"Content-Type": "text/plain"}, "ok"},
		{404, nil, refusal},
	}
	var paths []string
	n := 0
	s, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.RequestURI())
		a := answers[n]
		n++
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	})
	c, ctx := NewClient(s.URL, WithMaxRetries(1)), testCtx(t)
	r, err := c.InvokeFunction(ctx, "f", nil)
	must(t, err)
	eq(t, "own 404", sp(r.Status, r.Text(), r.FunctionError() == nil), `404 {"nope":true} true`)
	r, err = c.InvokeFunction(ctx, "f", nil)
	must(t, err)
	eq(t, "own 503", sp(r.Status, r.Text()), "503 busy")
	r, err = c.InvokeFunction(ctx, "f", nil)
	must(t, err)
	eq(t, "redirect", sp(r.Status, r.Header.Get("Location")), "302 /elsewhere")
	r, err = c.InvokeFunction(ctx, "f", nil)
	must(t, err)
	eq(t, "with the header", r.Text(), refusal)
	r, err = c.InvokeFunction(ctx, "f", &InvokeRequest{Method: "GET", Path: "/x y", Version: "2", Query: url.Values{"a": {"1"}}})
	must(t, err)
	eq(t, "after a retry", r.Text(), "ok")
	_, err = c.InvokeFunction(ctx, "f", nil)
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Message != "no such function: f" {
		t.Fatalf("refusal: %v", err)
	}
	eq(t, "requests", len(paths), 7)
	eq(t, "paths", paths[4]+" | "+paths[5], "GET /fn/f@2/x%20y?a=1 | GET /fn/f@2/x%20y?a=1")
	eq(t, "first", paths[0], "POST /fn/f")
}
