package soulbox

import (
	"context"
	"net/url"
	"strconv"
	"time"
)

// AuditQuery selects a page of Client.Audit: filters (zero values: none) and
// paging.
type AuditQuery struct {
	// Limit is the page size (1-500; 0: the server's default, 100).
	Limit int
	// Cursor is the previous page's NextCursor ("" for the first page).
	Cursor string
	// Event keeps this event only (exact), e.g. "execution", "auth_failure".
	Event string
	// KeyID keeps the records of this key only (its id, not its secret).
	KeyID string
	// Status keeps this status only (exact), e.g. "ok", "time_limit_exceeded".
	Status string
	// Since keeps the records at or after this time (sent in milliseconds).
	Since time.Time
}

func (q AuditQuery) values() url.Values {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	for k, s := range map[string]string{"cursor": q.Cursor, "event": q.Event, "key_id": q.KeyID, "status": q.Status} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", strconv.FormatInt(q.Since.UnixMilli(), 10))
	}
	return v
}

// Audit returns one page of the audit log, newest first (GET /api/audit):
// every execution, security event, refusal, session, function change and
// share the server recorded. With auth on only an admin key may read it:
// another key gets ErrPermissionDenied (403 permission_denied); bad
// parameters are ErrInvalidRequest.
func (c *Client) Audit(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	p := new(AuditPage)
	if err := c.call(ctx, &request{rt: rAudit, query: q.values()}, p); err != nil {
		return nil, err
	}
	return p, nil
}

// AuditIterator walks every page of Audit:
//
//	it := admin.AllAudit(ctx, soulbox.AuditQuery{Event: "execution", Limit: 100})
//	for it.Next() {
//		r := it.Record()
//	}
//	if err := it.Err(); err != nil { ... }
type AuditIterator struct {
	c    *Client
	ctx  context.Context
	q    AuditQuery
	page []AuditRecord
	i    int
	cur  *AuditRecord
	done bool
	err  error
}

// AllAudit returns an iterator over every audit record q's filters select,
// newest first, fetching pages of q.Limit as needed (q.Cursor: where to start).
func (c *Client) AllAudit(ctx context.Context, q AuditQuery) *AuditIterator {
	return &AuditIterator{c: c, ctx: ctx, q: q}
}

// Next advances to the next record; false at the end or on an error (see Err).
func (it *AuditIterator) Next() bool {
	for it.i >= len(it.page) {
		if it.done || it.err != nil {
			return false
		}
		p, err := it.c.Audit(it.ctx, it.q)
		if err != nil {
			it.err = err
			return false
		}
		it.page, it.i, it.q.Cursor = p.Records, 0, p.NextCursor
		if p.NextCursor == "" {
			it.done = true
		}
	}
	it.cur = &it.page[it.i]
	it.i++
	return true
}

// Record returns the current record.
func (it *AuditIterator) Record() *AuditRecord { return it.cur }

// Err returns the error that stopped the iteration, if any.
func (it *AuditIterator) Err() error { return it.err }
