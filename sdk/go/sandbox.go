package soulbox

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SandboxLimits are a session's limits (all its processes together); zero
// fields take the server's defaults.
type SandboxLimits struct {
	MemoryMB      int `json:"memory_mb,omitempty"`
	DiskMB        int `json:"disk_mb,omitempty"`
	OutputMB      int `json:"output_mb,omitempty"`
	MaxCPUPercent int `json:"max_cpu_percent,omitempty"`
	Processes     int `json:"processes,omitempty"`
	OpenFiles     int `json:"open_files,omitempty"`
}

// SandboxUsage is what a session uses now.
type SandboxUsage struct {
	MemoryBytes int64 `json:"memory_bytes"`
	OutputBytes int64 `json:"output_bytes"`
	Commands    int   `json:"commands"`
	Contexts    int   `json:"contexts"`
}

// SandboxNetwork is a session's egress.
type SandboxNetwork struct {
	Enabled bool          `json:"enabled"`
	Allow   []string      `json:"allow"`
	Usage   *NetworkUsage `json:"usage,omitempty"`
}

// SandboxInfo is a session's state as the server reports it.
type SandboxInfo struct {
	// ID is 20 characters from [a-z0-9].
	ID       string `json:"id"`
	Template string `json:"template"`
	// State is "running" or "paused" ("pausing", "resuming" in between).
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	EndsAt    time.Time `json:"ends_at"`
	// TimeoutS is the seconds left until EndsAt (while paused: what it will have left).
	TimeoutS int               `json:"timeout_s"`
	Metadata map[string]string `json:"metadata"`
	Limits   SandboxLimits     `json:"limits"`
	Usage    SandboxUsage      `json:"usage"`
	Network  SandboxNetwork    `json:"network"`
	// Isolation is how its sandbox is made: "namespaces" or "microvm".
	Isolation string `json:"isolation,omitempty"`
	// Raw is the whole JSON object.
	Raw json.RawMessage `json:"-"`
}

func (s *SandboxInfo) setRaw(b json.RawMessage) { s.Raw = b }

// SandboxRequest creates a session (Client.CreateSandbox); every field is optional.
type SandboxRequest struct {
	// Template is a template's name or alias (default "base"; see Client.Templates).
	Template string `json:"template,omitempty"`
	// Language is used as the template name when Template is empty.
	Language string `json:"language,omitempty"`
	// TimeoutS is the seconds the session lives (0: the server's default).
	TimeoutS int `json:"timeout_s,omitempty"`
	// Metadata are your labels (ListSandboxes filters on them).
	Metadata map[string]string `json:"metadata,omitempty"`
	// Env holds variables every command and context gets.
	Env     map[string]string `json:"env,omitempty"`
	Limits  *SandboxLimits    `json:"limits,omitempty"`
	Network *Network          `json:"network,omitempty"`
	// Isolation is "namespaces" or "microvm" (the session's sandbox inside a
	// QEMU microVM with its own kernel; not with Network). Empty: the server's
	// default (sandbox.isolation).
	Isolation string `json:"isolation,omitempty"`
}

// Sandbox is a session: a long-lived sandbox with commands (Commands), files
// (Files) and code contexts (RunCode). Its SandboxInfo fields are as of the
// last call that returned them (Refresh reads them again). End it with Kill,
// or defer Close:
//
//	sb, err := client.CreateSandbox(ctx, soulbox.SandboxRequest{Template: "python"})
//	if err != nil { ... }
//	defer sb.Close()
type Sandbox struct {
	SandboxInfo
	// Commands runs and follows the session's processes.
	Commands *Commands
	// Files reads and writes the session's files.
	Files *Files
	c     *Client
}

func (c *Client) newSandbox(info SandboxInfo) *Sandbox {
	sb := &Sandbox{SandboxInfo: info, c: c}
	sb.Commands = &Commands{sb: sb}
	sb.Files = &Files{sb: sb}
	return sb
}

// CreateSandbox creates a session and returns it once its sandbox is ready.
func (c *Client) CreateSandbox(ctx context.Context, req SandboxRequest) (*Sandbox, error) {
	var info SandboxInfo
	if err := c.callJSON(ctx, rCreateSandbox, nil, req, &info); err != nil {
		return nil, err
	}
	return c.newSandbox(info), nil
}

// GetSandbox returns the session id (ErrNotFound for an unknown, ended or
// another key's session).
func (c *Client) GetSandbox(ctx context.Context, id string) (*Sandbox, error) {
	var info SandboxInfo
	if err := c.callJSON(ctx, rGetSandbox, []string{id}, nil, &info); err != nil {
		return nil, err
	}
	return c.newSandbox(info), nil
}

// ListSandboxesOptions filter and page ListSandboxes.
type ListSandboxesOptions struct {
	// Metadata: sessions whose metadata has every one of these pairs.
	Metadata map[string]string
	// State: "running", "paused" or both (empty: all).
	State []string
	// Limit is the page size (0: the server's default, 100).
	Limit int
	// Offset is the previous page's NextOffset.
	Offset int
}

// SandboxPage is one page of ListSandboxes, oldest first.
type SandboxPage struct {
	Sandboxes []*Sandbox
	// Total counts the sessions matching the filters, on every page.
	Total int
	// NextOffset is the Offset of the next page, or -1 on the last page.
	NextOffset int
}

// ListSandboxes returns the caller's live sessions.
func (c *Client) ListSandboxes(ctx context.Context, opts ListSandboxesOptions) (*SandboxPage, error) {
	q := &request{rt: rListSandboxes, query: url.Values{}}
	if len(opts.Metadata) > 0 {
		parts := make([]string, 0, len(opts.Metadata))
		for k, v := range opts.Metadata {
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
		q.query.Set("metadata", strings.Join(parts, "&"))
	}
	if len(opts.State) > 0 {
		q.query.Set("state", strings.Join(opts.State, ","))
	}
	if opts.Limit > 0 {
		q.query.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Offset > 0 {
		q.query.Set("offset", strconv.Itoa(opts.Offset))
	}
	var out struct {
		Sandboxes  []SandboxInfo `json:"sandboxes"`
		Total      int           `json:"total"`
		NextOffset *int          `json:"next_offset"`
	}
	if err := c.call(ctx, q, &out); err != nil {
		return nil, err
	}
	p := &SandboxPage{Total: out.Total, NextOffset: -1}
	if out.NextOffset != nil {
		p.NextOffset = *out.NextOffset
	}
	for _, info := range out.Sandboxes {
		p.Sandboxes = append(p.Sandboxes, c.newSandbox(info))
	}
	return p, nil
}

func (sb *Sandbox) id() []string { return []string{sb.ID} }

func (sb *Sandbox) updateCtx(ctx context.Context, rt *route, in interface{}) error {
	var info SandboxInfo
	if err := sb.c.callJSON(ctx, rt, sb.id(), in, &info); err != nil {
		return err
	}
	sb.SandboxInfo = info
	return nil
}

// Refresh reads the session's state again (GET /api/sandboxes/{id}) into its SandboxInfo.
func (sb *Sandbox) Refresh(ctx context.Context) error { return sb.updateCtx(ctx, rGetSandbox, nil) }

// Info reads the session's state again and returns it.
func (sb *Sandbox) Info(ctx context.Context) (*SandboxInfo, error) {
	if err := sb.Refresh(ctx); err != nil {
		return nil, err
	}
	info := sb.SandboxInfo
	return &info, nil
}

// SetTimeout makes the session end d from now (rounded up to whole seconds).
func (sb *Sandbox) SetTimeout(ctx context.Context, d time.Duration) error {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return sb.updateCtx(ctx, rSetTimeout, map[string]int{"timeout_s": secs})
}

// Pause saves the session's files and releases its sandbox (state "paused").
func (sb *Sandbox) Pause(ctx context.Context) error { return sb.updateCtx(ctx, rPause, nil) }

// Resume gives a paused session a new sandbox with its saved files.
func (sb *Sandbox) Resume(ctx context.Context) error { return sb.updateCtx(ctx, rResume, nil) }

// Kill ends the session (DELETE /api/sandboxes/{id}): its processes and files are gone.
func (sb *Sandbox) Kill(ctx context.Context) error {
	return sb.c.callJSON(ctx, rKillSandbox, sb.id(), nil, nil)
}

// Close ends the session like Kill, with a 30 s timeout; a session already
// gone is not an error. It makes `defer sb.Close()` the way to dispose of one.
func (sb *Sandbox) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sb.Kill(ctx); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
