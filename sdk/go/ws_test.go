package soulbox

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A scripted WebSocket server: each accepted connection is upgraded and
// handed to script with its connection number.
type wsPeer struct {
	c  net.Conn
	br *bufio.Reader
}

func (p *wsPeer) frame(fin bool, op byte, payload []byte) {
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	default:
		b = append(b, 126, byte(n>>8), byte(n))
	}
	p.c.Write(append(b, payload...))
}

func (p *wsPeer) text(s string) { p.frame(true, opText, []byte(s)) }

func (p *wsPeer) close(code int, reason string) {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, uint16(code))
	p.frame(true, opClose, append(b, reason...))
}

// read returns the next client frame's opcode and unmasked payload.
func (p *wsPeer) read(t *testing.T) (byte, []byte) {
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return 0, nil
	}
	if h[1]&0x80 == 0 {
		t.Error("client frame not masked")
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		io.ReadFull(p.br, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	}
	var mask [4]byte
	io.ReadFull(p.br, mask[:])
	b := make([]byte, n)
	io.ReadFull(p.br, b)
	for i := range b {
		b[i] ^= mask[i&3]
	}
	return h[0] & 0x0f, b
}

func wsServer(t *testing.T, script func(n int, p *wsPeer)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { l.Close() })
	var n int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn, i int) {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				if req.Header.Get("Authorization") != "Bearer k" || req.URL.Path != "/pre/api/ws" {
					io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nX-Request-Id: r401\r\nContent-Length: 61\r\n\r\n"+
						`{"error":{"code":"unauthenticated","message":"bad key  xx"}}`+"\n")
					return
				}
				sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
					base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
				script(i, &wsPeer{c: c, br: br})
			}(c, int(atomic.AddInt32(&n, 1)))
		}
	}()
	return "http://" + l.Addr().String() + "/pre"
}

func TestWebSocketProtocol(t *testing.T) {
	pong := make(chan string, 1)
	stdin := make(chan string, 4)
	url := wsServer(t, func(n int, p *wsPeer) {
		op, msg := p.read(t)
		if op != opText || !strings.HasPrefix(string(msg), `{"type":"execute","language":"python","code":"x = input()\nprint(x)\n"`) {
			t.Errorf("first message %d %q", op, msg)
		}
		if n == 1 { // refused: rate limited, then a close 4429
			p.text(`{"type":"error","error":{"code":"rate_limited","message":"slow down"}}`)
			p.close(4429, "rate limited")
			return
		}
		p.frame(true, opPing, []byte("hb"))
		if op, b := p.read(t); op == opPong {
			pong <- string(b)
		}
		// a fragmented message
		p.frame(false, opText, []byte(`{"type":"sta`))
		p.frame(false, opCont, []byte(`rted","id":"e`))
		p.frame(true, opCont, []byte(`x1"}`))
		for i := 0; i < 3; i++ {
			_, b := p.read(t)
			stdin <- string(b)
		}
		p.text(`{"type":"stdout","data":"` + strings.Repeat("y", 300) + `"}`)
		p.text(`{"type":"exit","stdout":"ok\n","stderr":"","exit_code":0,"status":"ok","signal":null,"id":"ex1","future_field":7}`)
		p.close(1000, "")
		p.read(t) // the client's close
	})
	c := NewClient(url, WithAPIKey("k"), WithMaxRetries(1))
	ctx := context.Background()
	start := time.Now()
	s, err := c.Stream(ctx, ExecuteRequest{Language: "python", Code: "\n    x = input()\n    print(x)\n"})
	must(t, err)
	if el := time.Since(start); el < 450*time.Millisecond {
		t.Fatalf("the 4429 refusal was not retried after a pause (%v)", el)
	}
	defer s.Close()
	eq(t, "pong", <-pong, "hb")
	if !s.Next() || s.Event().Type != "started" || s.ID() != "ex1" {
		t.Fatalf("first event %+v", s.Event())
	}
	must(t, s.SendStdin(ctx, "hi\n"))
	must(t, s.Signal(ctx, "SIGINT"))
	must(t, s.CloseStdin(ctx))
	eq(t, "stdin", <-stdin, `{"data":"hi\n","type":"stdin"}`)
	eq(t, "signal", <-stdin, `{"type":"signal","signal":"SIGINT"}`)
	eq(t, "stdin_close", <-stdin, `{"type":"stdin_close"}`)
	if !s.Next() || s.Event().Data != strings.Repeat("y", 300) {
		t.Fatalf("stdout event %+v", s.Event())
	}
	if !s.Next() || s.Event().Type != "exit" {
		t.Fatalf("exit event %+v", s.Event())
	}
	if s.Next() {
		t.Fatal("Next after exit")
	}
	must(t, s.Err())
	eq(t, "status", s.Result().Status, "ok")
	if !strings.Contains(string(s.Result().Raw), `"future_field":7`) {
		t.Fatalf("raw %s", s.Result().Raw)
	}

	// retries exhausted: the refusal is the error
	var conns int32
	refusing := wsServer(t, func(n int, p *wsPeer) {
		atomic.AddInt32(&conns, 1)
		p.read(t)
		p.text(`{"type":"error","error":{"code":"rate_limited","message":"slow down"}}`)
		p.close(4429, "rate limited")
	})
	_, err = NewClient(refusing, WithAPIKey("k"), WithMaxRetries(1)).Stream(ctx, ExecuteRequest{Language: "python", Code: "1"})
	eq(t, "connections", atomic.LoadInt32(&conns), 2)
	var e *Error
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.Code != "rate_limited" || e.Status != 429 {
		t.Fatalf("err = %v", err)
	}
	// a refused upgrade
	_, err = NewClient(url, WithAPIKey("bad")).Stream(ctx, ExecuteRequest{Language: "python", Code: "1"})
	if !errors.Is(err, ErrAuthentication) || !errors.As(err, &e) || e.RequestID != "r401" {
		t.Fatalf("err = %v", err)
	}
}

func TestStreamContextCancel(t *testing.T) {
	url := wsServer(t, func(n int, p *wsPeer) {
		p.read(t)
		p.text(`{"type":"started","id":"e"}`)
		time.Sleep(5 * time.Second)
	})
	ctx, cancel := context.WithCancel(context.Background())
	s, err := NewClient(url, WithAPIKey("k")).Stream(ctx, ExecuteRequest{Language: "python", Code: "1"})
	must(t, err)
	s.Next()
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	if s.Next() {
		t.Fatal("an event after the cancel")
	}
	if s.Err() == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", s.Err(), time.Since(start))
	}
}
