package soulbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

func adminClient() *Client { return NewClient("", WithAPIKey(os.Getenv("SOULBOX_TEST_ADMIN_KEY"))) }

func otherClient() *Client { return NewClient("", WithAPIKey(os.Getenv("SOULBOX_TEST_OTHER_KEY"))) }

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func marker(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	_, err := rand.Read(b)
	must(t, err)
	return hex.EncodeToString(b)
}

func TestAuditNeedsAnAdminKey(t *testing.T) {
	ctx := testCtx(t)
	for _, c := range []*Client{testClient(t), otherClient()} {
		_, err := c.Audit(ctx, AuditQuery{Limit: 1})
		var e *Error
		if !errors.Is(err, ErrPermissionDenied) || !errors.As(err, &e) {
			t.Fatalf("err = %v", err)
		}
		eq(t, "error", []interface{}{e.Status, e.Code, e.Message}, []interface{}{403, "permission_denied", "the audit log needs an admin key"})
		if e.RequestID == "" {
			t.Fatal("no request id")
		}
	}
	it := testClient(t).AllAudit(ctx, AuditQuery{})
	if it.Next() || !errors.Is(it.Err(), ErrPermissionDenied) {
		t.Fatalf("iterator: %v", it.Err())
	}
}

func TestAuditExecutionsFiltersAndPages(t *testing.T) {
	c, admin, ctx := testClient(t), adminClient(), testCtx(t)
	t0 := time.Now().Add(-time.Second)
	m := marker(t)
	var codes []string
	for i := 0; i < 3; i++ {
		code := fmt.Sprintf("echo audit %s %d", m, i)
		codes = append(codes, code)
		r, err := c.Execute(ctx, ExecuteRequest{Language: "bash", Code: code})
		must(t, err)
		eq(t, "status", r.Status, "ok")
	}
	// newest first, a page of one, then the next page of two
	p, err := admin.Audit(ctx, AuditQuery{Event: "execution", KeyID: "sdk", Limit: 1})
	must(t, err)
	eq(t, "page size", len(p.Records), 1)
	if p.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	r := p.Records[0]
	eq(t, "record", []interface{}{r.Event, r.KeyID, r.Language, r.Status, r.CodeSHA256, r.Client, r.Detail},
		[]interface{}{"execution", "sdk", "bash", "ok", sha(codes[2]), "127.0.0.1", ""})
	if r.Seq <= 0 || r.TsMs < t0.UnixMilli() || r.Time.Before(t0) || r.RequestID == "" || r.Limits == nil || r.Limits.WallTimeMs <= 0 {
		t.Fatalf("record: %+v", r)
	}
	p2, err := admin.Audit(ctx, AuditQuery{Event: "execution", KeyID: "sdk", Limit: 2, Cursor: p.NextCursor})
	must(t, err)
	eq(t, "page 2", []string{p2.Records[0].CodeSHA256, p2.Records[1].CodeSHA256}, []string{sha(codes[1]), sha(codes[0])})
	if p2.Records[0].Seq >= r.Seq {
		t.Fatalf("not newest first: %d then %d", r.Seq, p2.Records[0].Seq)
	}
	// since, status; nothing in the future, nothing of an unknown key
	recent, err := admin.Audit(ctx, AuditQuery{Since: t0, Status: "ok", KeyID: "sdk", Limit: 500})
	must(t, err)
	seen := map[string]bool{}
	for _, x := range recent.Records {
		if x.TsMs < t0.UnixMilli() || x.Status != "ok" {
			t.Fatalf("filtered record: %+v", x)
		}
		seen[x.CodeSHA256] = true
	}
	for _, code := range codes {
		if !seen[sha(code)] {
			t.Fatalf("%q not in the records since %v", code, t0)
		}
	}
	future, err := admin.Audit(ctx, AuditQuery{Since: time.Now().Add(time.Hour)})
	must(t, err)
	eq(t, "future", len(future.Records), 0)
	none, err := admin.Audit(ctx, AuditQuery{KeyID: "no-such-key"})
	must(t, err)
	eq(t, "unknown key", []interface{}{len(none.Records), none.NextCursor}, []interface{}{0, ""})
	// every page
	n, seqs := 0, map[int64]bool{}
	it := admin.AllAudit(ctx, AuditQuery{Event: "execution", Limit: 2})
	for it.Next() {
		if it.Record().Event != "execution" {
			t.Fatalf("iterator: %+v", it.Record())
		}
		seqs[it.Record().Seq] = true
		n++
	}
	must(t, it.Err())
	if n < 3 || n != len(seqs) {
		t.Fatalf("iterator saw %d records (%d distinct)", n, len(seqs))
	}
	_, err = admin.Audit(ctx, AuditQuery{Limit: 501})
	var e *Error
	if !errors.Is(err, ErrInvalidRequest) || !errors.As(err, &e) || e.Message != "limit: an integer from 1 to 500" {
		t.Fatalf("limit 501: %v", err)
	}
}

func TestShareCode(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	l, err := c.CreateShare(ctx, ShareRequest{
		Language: "py", Stdin: "hi", Args: []string{"a"}, Limits: &Limits{WallTimeMs: 2000},
		Code: `
			import sys
			print(sys.stdin.read().upper(), sys.argv[1:])
			`,
	})
	must(t, err)
	if len(l.ID) < 22 || l.URL != "/?share="+l.ID || l.Created.IsZero() {
		t.Fatalf("link: %+v", l)
	}
	for _, k := range []*Client{c, otherClient()} {
		s, err := k.GetShare(ctx, l.ID)
		must(t, err)
		eq(t, "share", []interface{}{s.ID, s.Created.Equal(l.Created), s.Language, s.Code, s.Stdin, s.Args},
			[]interface{}{l.ID, true, "python", "import sys\nprint(sys.stdin.read().upper(), sys.argv[1:])\n", "hi", []string{"a"}})
		if s.Limits == nil || *s.Limits != (Limits{WallTimeMs: 2000}) || s.Files != nil || s.TestCases != nil || s.Result != nil {
			t.Fatalf("share: %+v", s)
		}
	}
	l2, err := c.CreateShare(ctx, ShareRequest{
		Language:  "bash",
		Files:     []File{{Name: "main.sh", Content: "read a; echo $((a * 2))"}},
		TestCases: []TestCase{{Stdin: "2", ExpectedOutput: "4"}, {Stdin: "3", RunOnly: true}},
	})
	must(t, err)
	s, err := otherClient().GetShare(ctx, l2.ID)
	must(t, err)
	eq(t, "files", s.Files, []File{{Name: "main.sh", Content: "read a; echo $((a * 2))", Encoding: "utf8"}})
	eq(t, "test cases", s.TestCases, []TestCase{{Stdin: "2", ExpectedOutput: "4"}, {Stdin: "3", RunOnly: true}})
	eq(t, "code", s.Code, "")
}

func TestShareFinishedExecution(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	r, err := c.Execute(ctx, ExecuteRequest{Language: "python", Code: "print(6 * 7)"})
	must(t, err)
	l, err := c.CreateShare(ctx, ShareRequest{Language: "python", Code: "print(6 * 7)", ExecutionID: r.ID})
	must(t, err)
	s, err := otherClient().GetShare(ctx, l.ID)
	must(t, err)
	if s.Result == nil {
		t.Fatal("no result in the share")
	}
	eq(t, "result", []interface{}{s.Result.ID, s.Result.Stdout, s.Result.Status, s.Result.Language, s.Result.Done()},
		[]interface{}{r.ID, "42\n", "ok", "python", true})
	if s.Result.FinishedAt == nil {
		t.Fatalf("result: %+v", s.Result)
	}
	// another key's execution, or an unknown one: not found; one still running: a conflict
	_, err = otherClient().CreateShare(ctx, ShareRequest{Language: "python", Code: "x", ExecutionID: r.ID})
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) || e.Message != "execution_id: no such execution" {
		t.Fatalf("another key's execution: %v", err)
	}
	_, err = c.CreateShare(ctx, ShareRequest{Language: "python", Code: "x", ExecutionID: "00000000-0000-0000-0000-000000000000"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown execution: %v", err)
	}
	h, err := c.Submit(ctx, SubmitRequest{ExecuteRequest: ExecuteRequest{Language: "bash", Code: "sleep 3"}})
	must(t, err)
	_, err = c.CreateShare(ctx, ShareRequest{Language: "bash", Code: "sleep 3", ExecutionID: h.ID})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("running execution: %v", err)
	}
	_, err = c.WaitExecution(ctx, h.ID, nil)
	must(t, err)
}

func TestShareErrors(t *testing.T) {
	c, ctx := testClient(t), testCtx(t)
	_, err := c.GetShare(ctx, "AAAAAAAAAAAAAAAAAAAAAA")
	var e *Error
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &e) {
		t.Fatalf("unknown share: %v", err)
	}
	eq(t, "error", []interface{}{e.Status, e.Code, e.Message}, []interface{}{404, "not_found", "no such share"})
	if _, err := c.CreateShare(ctx, ShareRequest{Language: "cobol", Code: "x"}); !errors.Is(err, ErrUnknownLanguage) {
		t.Fatalf("unknown language: %v", err)
	}
	if _, err := c.CreateShare(ctx, ShareRequest{Language: "python"}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("no code: %v", err)
	}
}
