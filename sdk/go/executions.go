package soulbox

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"time"
)

// Execute runs a program and waits for its result (POST /api/execute). A
// program that fails is not an error: Result.Status says what happened.
func (c *Client) Execute(ctx context.Context, req ExecuteRequest) (*Result, error) {
	q, err := jsonRequest(rExecute, nil, req.prepared())
	if err != nil {
		return nil, err
	}
	res := new(Result)
	if err := c.call(ctx, q, res); err != nil {
		return nil, err
	}
	return res, nil
}

// Submit queues a program (POST /api/executions) and returns at once with its
// id; poll it with GetExecution or WaitExecution.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (*ExecutionHandle, error) {
	req.ExecuteRequest = *req.ExecuteRequest.prepared()
	h := new(ExecutionHandle)
	if err := c.callJSON(ctx, rSubmit, nil, req, h); err != nil {
		return nil, err
	}
	return h, nil
}

// GetExecution returns one execution: queued, running, or its final result.
func (c *Client) GetExecution(ctx context.Context, id string) (*Execution, error) {
	e := new(Execution)
	if err := c.callJSON(ctx, rGetExecution, []string{id}, nil, e); err != nil {
		return nil, err
	}
	return e, nil
}

// WaitOptions bound WaitExecution.
type WaitOptions struct {
	// Timeout is how long to wait in all (default 300 s); past it ErrTimeout.
	Timeout time.Duration
	// PollInterval is the pause between polls (default 200 ms).
	PollInterval time.Duration
}

// limits returns opts' timeout and poll interval, or the defaults (300 s, 200 ms).
func (opts *WaitOptions) limits() (timeout, poll time.Duration) {
	timeout, poll = DefaultTimeout, 200*time.Millisecond
	if opts != nil && opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	if opts != nil && opts.PollInterval > 0 {
		poll = opts.PollInterval
	}
	return timeout, poll
}

// pollDone calls fetch until it reports done, pausing poll between calls;
// past timeout ErrTimeout naming what is still in which state.
func pollDone(ctx context.Context, opts *WaitOptions, what string,
	fetch func() (done bool, state string, err error)) error {
	timeout, poll := opts.limits()
	deadline := time.Now().Add(timeout)
	for {
		done, state, err := fetch()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return errorf(ErrTimeout, "timeout", "%s still %s after %v", what, state, timeout)
		}
		if poll < left {
			left = poll
		}
		if err := sleepCtx(ctx, left); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return timeoutError(err)
			}
			return err
		}
	}
}

// WaitExecution polls GET /api/executions/{id} until the execution is
// neither queued nor running, and returns it. opts may be nil.
func (c *Client) WaitExecution(ctx context.Context, id string, opts *WaitOptions) (*Execution, error) {
	var e *Execution
	err := pollDone(ctx, opts, "execution "+id, func() (bool, string, error) {
		var err error
		if e, err = c.GetExecution(ctx, id); err != nil {
			return false, "", err
		}
		return e.Done(), e.Status, nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ListOptions select a page of ListExecutions.
type ListOptions struct {
	// Limit is the page size (1-100; 0: the server's default, 20).
	Limit int
	// Cursor is the previous page's NextCursor ("" for the first page).
	Cursor string
}

// ListExecutions returns one page of the caller's executions, newest first.
func (c *Client) ListExecutions(ctx context.Context, opts ListOptions) (*ExecutionPage, error) {
	q := &request{rt: rListExecutions}
	if opts.Limit > 0 || opts.Cursor != "" {
		q.query = url.Values{}
		if opts.Limit > 0 {
			q.query.Set("limit", strconv.Itoa(opts.Limit))
		}
		if opts.Cursor != "" {
			q.query.Set("cursor", opts.Cursor)
		}
	}
	p := new(ExecutionPage)
	if err := c.call(ctx, q, p); err != nil {
		return nil, err
	}
	return p, nil
}

// ExecutionIterator walks every page of ListExecutions:
//
//	it := client.AllExecutions(ctx, 50)
//	for it.Next() {
//		e := it.Execution()
//	}
//	if err := it.Err(); err != nil { ... }
type ExecutionIterator struct {
	c      *Client
	ctx    context.Context
	limit  int
	cursor string
	page   []Execution
	i      int
	cur    *Execution
	done   bool
	err    error
}

// AllExecutions returns an iterator over all the caller's executions, newest
// first, fetching pages of pageSize (0: the server's default) as needed.
func (c *Client) AllExecutions(ctx context.Context, pageSize int) *ExecutionIterator {
	return &ExecutionIterator{c: c, ctx: ctx, limit: pageSize}
}

// Next advances to the next execution; false at the end or on an error (see Err).
func (it *ExecutionIterator) Next() bool {
	for it.i >= len(it.page) {
		if it.done || it.err != nil {
			return false
		}
		p, err := it.c.ListExecutions(it.ctx, ListOptions{Limit: it.limit, Cursor: it.cursor})
		if err != nil {
			it.err = err
			return false
		}
		it.page, it.i, it.cursor = p.Items, 0, p.NextCursor
		if p.NextCursor == "" {
			it.done = true
		}
	}
	it.cur = &it.page[it.i]
	it.i++
	return true
}

// Execution returns the current execution.
func (it *ExecutionIterator) Execution() *Execution { return it.cur }

// Err returns the error that stopped the iteration, if any.
func (it *ExecutionIterator) Err() error { return it.err }

// Languages returns the languages the server runs, with their versions.
func (c *Client) Languages(ctx context.Context) (*Languages, error) {
	l := new(Languages)
	if err := c.callJSON(ctx, rLanguages, nil, nil, l); err != nil {
		return nil, err
	}
	return l, nil
}

// Health returns the server's liveness and load (GET /health, public).
func (c *Client) Health(ctx context.Context) (*Health, error) {
	h := new(Health)
	if err := c.callJSON(ctx, rHealth, nil, nil, h); err != nil {
		return nil, err
	}
	return h, nil
}

// Cluster returns the nodes sharing the server's store (GET /api/cluster). On
// SQLite it is the server alone (Store "sqlite", one node with Self true); in
// cluster mode (PostgreSQL) every node registered, as the server saw it at its
// last heartbeat.
func (c *Client) Cluster(ctx context.Context) (*Cluster, error) {
	cl := new(Cluster)
	if err := c.callJSON(ctx, rCluster, nil, nil, cl); err != nil {
		return nil, err
	}
	return cl, nil
}

// Metrics returns the server's Prometheus metrics, as text.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	b, err := c.callBytes(ctx, &request{rt: rMetrics})
	return string(b), err
}

// Templates returns the session templates the server offers.
func (c *Client) Templates(ctx context.Context) ([]Template, error) {
	var out struct {
		Templates []Template `json:"templates"`
	}
	if err := c.callJSON(ctx, rTemplates, nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Templates, nil
}
