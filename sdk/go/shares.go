package soulbox

import "context"

// CreateShare shares a program (POST /api/shares) under a new unguessable id
// that any key may open (GetShare; the playground's "/?share={id}"). The
// fields are checked as Execute checks them; with ExecutionID that finished
// execution's result is copied into the share. Code is dedented unless
// NoDedent.
func (c *Client) CreateShare(ctx context.Context, req ShareRequest) (*ShareLink, error) {
	if !req.NoDedent && req.Code != "" {
		req.Code = Dedent(req.Code)
	}
	l := new(ShareLink)
	if err := c.callJSON(ctx, rCreateShare, nil, req, l); err != nil {
		return nil, err
	}
	return l, nil
}

// GetShare returns a shared program by id (GET /api/shares/{id}), for any
// key; ErrNotFound when it is unknown (or pruned).
func (c *Client) GetShare(ctx context.Context, id string) (*Share, error) {
	s := new(Share)
	if err := c.callJSON(ctx, rGetShare, []string{id}, nil, s); err != nil {
		return nil, err
	}
	return s, nil
}
