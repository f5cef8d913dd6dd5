package soulbox

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// The suite runs against a real server: tests/sdk/with_server.py starts one
// and exports SOULBOX_URL, SOULBOX_API_KEY, SOULBOX_TEST_OTHER_KEY and
// SOULBOX_TEST_ADMIN_KEY.
func TestMain(m *testing.M) {
	if os.Getenv("SOULBOX_URL") == "" {
		fmt.Fprintln(os.Stderr, "FAIL: SOULBOX_URL is not set: run the Go SDK's tests through tests/sdk/with_server.py, e.g.\n"+
			"  cd /work/main && tests/sdk/with_server.py -- sh -c 'cd sdk/go && go test -count=1 ./...'")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func testClient(t *testing.T) *Client {
	t.Helper()
	return NewClient("")
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eq(t *testing.T, what string, got, want interface{}) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: got %q, want %q", what, fmt.Sprint(got), fmt.Sprint(want))
	}
}
