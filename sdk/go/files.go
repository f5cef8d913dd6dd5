package soulbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FileEntry is a file's metadata in a session.
type FileEntry struct {
	Name string `json:"name"`
	// Path is absolute and clean.
	Path string `json:"path"`
	// Type is "file", "dir", "symlink" or "other".
	Type string `json:"type"`
	Size int64  `json:"size"`
	// Mode holds the permission bits (420 = 0644).
	Mode          int       `json:"mode"`
	Permissions   string    `json:"permissions"`
	ModifiedAt    time.Time `json:"modified_at"`
	SymlinkTarget string    `json:"symlink_target,omitempty"`
}

// FileData is one file to upload with Files.WriteFiles.
type FileData struct {
	// Path is absolute, or relative to /home/user; missing directories are made.
	Path string
	Data []byte
}

// WatchEvent is a change under a watched directory.
type WatchEvent struct {
	// Type is "created", "modified", "removed", "renamed" (the new name), or
	// "end" (the last event; Reason says why).
	Type   string `json:"type"`
	Path   string `json:"path"`
	Dir    bool   `json:"dir"`
	Reason string `json:"reason,omitempty"`
}

// Files reads and writes a session's files (Sandbox.Files). Paths are
// absolute, or relative to /home/user (which is /workspace); /tmp is
// writable too.
type Files struct{ sb *Sandbox }

func pathQuery(path string) url.Values { return url.Values{"path": {path}} }

// Read returns the file's bytes.
func (f *Files) Read(ctx context.Context, path string) ([]byte, error) {
	return f.sb.c.callBytes(ctx, &request{rt: rReadFile, params: f.sb.id(), query: pathQuery(path)})
}

// ReadRange returns at most length bytes of the file from offset (length < 0: to the end).
func (f *Files) ReadRange(ctx context.Context, path string, offset, length int64) ([]byte, error) {
	q := pathQuery(path)
	if offset > 0 {
		q.Set("offset", strconv.FormatInt(offset, 10))
	}
	if length >= 0 {
		q.Set("length", strconv.FormatInt(length, 10))
	}
	return f.sb.c.callBytes(ctx, &request{rt: rReadFile, params: f.sb.id(), query: q})
}

// ReadText returns the file's content as a string.
func (f *Files) ReadText(ctx context.Context, path string) (string, error) {
	b, err := f.Read(ctx, path)
	return string(b), err
}

// Write creates or truncates the file (and its missing parent directories) with data.
func (f *Files) Write(ctx context.Context, path string, data []byte) (*FileEntry, error) {
	if data == nil {
		data = []byte{}
	}
	q := &request{rt: rWriteFile, params: f.sb.id(), query: pathQuery(path), body: data, ctype: "application/octet-stream"}
	var out struct {
		Files []FileEntry `json:"files"`
	}
	if err := f.sb.c.call(ctx, q, &out); err != nil {
		return nil, err
	}
	if len(out.Files) == 0 {
		return nil, errorf(ErrServer, "invalid_response", "write %s: no entry in the answer", path)
	}
	return &out.Files[0], nil
}

// WriteText writes a string to the file.
func (f *Files) WriteText(ctx context.Context, path, text string) (*FileEntry, error) {
	return f.Write(ctx, path, []byte(text))
}

// WriteFiles uploads several files in one multipart request.
func (f *Files) WriteFiles(ctx context.Context, files []FileData) ([]FileEntry, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, fd := range files {
		w, err := mw.CreateFormFile("file", fd.Path)
		if err != nil {
			return nil, err
		}
		w.Write(fd.Data)
	}
	mw.Close()
	q := &request{rt: rUploadFiles, params: f.sb.id(), body: buf.Bytes(), ctype: mw.FormDataContentType()}
	var out struct {
		Files []FileEntry `json:"files"`
	}
	if err := f.sb.c.call(ctx, q, &out); err != nil {
		return nil, err
	}
	return out.Files, nil
}

// Remove removes a file, or a directory with everything in it.
func (f *Files) Remove(ctx context.Context, path string) error {
	return f.sb.c.call(ctx, &request{rt: rRemoveFile, params: f.sb.id(), query: pathQuery(path)}, nil)
}

// List lists a directory ("" : /home/user), depth levels down (0 or 1: the directory itself).
func (f *Files) List(ctx context.Context, path string, depth int) ([]FileEntry, error) {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	if depth > 1 {
		q.Set("depth", strconv.Itoa(depth))
	}
	var out struct {
		Entries []FileEntry `json:"entries"`
	}
	if err := f.sb.c.call(ctx, &request{rt: rListFiles, params: f.sb.id(), query: q}, &out); err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// Stat returns one entry's metadata (a symbolic link itself, not its target).
func (f *Files) Stat(ctx context.Context, path string) (*FileEntry, error) {
	e := new(FileEntry)
	if err := f.sb.c.call(ctx, &request{rt: rStatFile, params: f.sb.id(), query: pathQuery(path)}, e); err != nil {
		return nil, err
	}
	return e, nil
}

// Exists reports whether path exists.
func (f *Files) Exists(ctx context.Context, path string) (bool, error) {
	_, err := f.Stat(ctx, path)
	if err == nil {
		return true, nil
	}
	var e *Error
	if errors.As(err, &e) && e.Status == 404 && e.Code == "not_found" && e.Message != "no such sandbox" {
		return false, nil
	}
	return false, err
}

// Mkdir makes a directory and its missing parents (an existing directory is fine).
func (f *Files) Mkdir(ctx context.Context, path string) error {
	return f.sb.c.callJSON(ctx, rMkdir, f.sb.id(), map[string]string{"path": path}, nil)
}

// Move renames or moves a file or directory.
func (f *Files) Move(ctx context.Context, from, to string) error {
	return f.sb.c.callJSON(ctx, rMove, f.sb.id(), map[string]string{"from": from, "to": to}, nil)
}

// Watcher follows the changes under a directory (Files.Watch):
//
//	w, err := sb.Files.Watch(ctx, "/home/user", true)
//	defer w.Close()
//	for w.Next() { ev := w.Event(); ... }
type Watcher struct {
	resp *rawResponse
	sse  *sseReader
	ctx  context.Context
	ev   WatchEvent
	err  error
	done bool
}

// Watch starts watching path ("": /home/user), recursively or not, and
// returns once the watch is in place, so every later change is reported. A
// watch that cannot start returns a *Error with code "watch_failed" and the
// reason as its message (ErrNotFound for a missing directory, else
// ErrInvalidRequest; Status is the stream's 200).
func (f *Files) Watch(ctx context.Context, path string, recursive bool) (*Watcher, error) {
	q := url.Values{}
	if path != "" {
		q.Set("path", path)
	}
	if recursive {
		q.Set("recursive", "true")
	}
	resp, err := f.sb.c.do(ctx, &request{rt: rWatchFiles, params: f.sb.id(), query: q, accept: "text/event-stream"}, true)
	if err != nil {
		return nil, err
	}
	w := &Watcher{resp: resp, sse: newSSEReader(resp.Body), ctx: ctx}
	for {
		e, err := w.sse.next()
		if err != nil {
			resp.Close()
			return nil, connectionError(err)
		}
		switch e.name {
		case "ready":
			return w, nil
		case "end":
			resp.Close()
			var v WatchEvent
			json.Unmarshal(e.data, &v)
			kind := ErrInvalidRequest
			if strings.Contains(v.Reason, "No such file or directory") {
				kind = ErrNotFound
			}
			return nil, &Error{Code: "watch_failed", Message: v.Reason, Status: resp.StatusCode,
				RequestID: resp.Header.Get("X-Request-Id"), kind: kind}
		}
	}
}

// Next waits for the next change; false after the "end" event, on an error
// (see Err) or once closed.
func (w *Watcher) Next() bool {
	if w.done {
		return false
	}
	for {
		e, err := w.sse.next()
		if err != nil {
			w.done = true
			if w.ctx.Err() == nil && !errors.Is(err, io.EOF) {
				w.err = connectionError(err)
			}
			w.resp.Close()
			return false
		}
		if e.name == "ready" || e.name == "" {
			continue
		}
		var v WatchEvent
		if err := json.Unmarshal(e.data, &v); err != nil {
			continue
		}
		if v.Type == "" {
			v.Type = e.name
		}
		w.ev = v
		if e.name == "end" {
			w.done = true
			w.resp.Close()
		}
		return true
	}
}

// Event returns the current event.
func (w *Watcher) Event() WatchEvent { return w.ev }

// Err returns the error that ended the watch, if any (not after Close).
func (w *Watcher) Err() error { return w.err }

// Close stops watching.
func (w *Watcher) Close() error {
	w.done = true
	return w.resp.Close()
}
