package soulbox

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A minimal RFC 6455 client: text messages, masked client frames,
// fragmentation, ping/pong and close.

const (
	opCont  = 0x0
	opText  = 0x1
	opBin   = 0x2
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

type wsConn struct {
	conn   net.Conn
	br     *bufio.Reader
	wmu    sync.Mutex
	closed bool
	// closeCode and closeReason are the peer's close frame, once read.
	closeCode   int
	closeReason string
}

// wsClosed is returned by readMessage when the peer closed the connection.
type wsClosed struct {
	code   int
	reason string
}

func (e *wsClosed) Error() string { return "websocket closed" }

// dialWS upgrades a connection to base+path (http->ws). On a refused
// upgrade it returns the *Error built from the HTTP answer.
func dialWS(ctx context.Context, base, path, auth, ua string, timeout time.Duration) (*wsConn, error) {
	tlsOn := strings.HasPrefix(base, "https://")
	hostPath := strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
	host, prefix := hostPath, ""
	if i := strings.IndexByte(hostPath, '/'); i >= 0 {
		host, prefix = hostPath[:i], hostPath[i:]
	}
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		if tlsOn {
			addr = host + ":443"
		} else {
			addr = host + ":80"
		}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, timeoutError(err)
		}
		return nil, connectionError(err)
	}
	if tlsOn {
		h, _, _ := net.SplitHostPort(addr)
		tc := tls.Client(conn, &tls.Config{ServerName: h})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, connectionError(err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var keyb [16]byte
	rand.Read(keyb[:])
	key := base64.StdEncoding.EncodeToString(keyb[:])
	var b strings.Builder
	b.WriteString("GET " + prefix + path + " HTTP/1.1\r\nHost: " + host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key +
		"\r\nUser-Agent: " + ua + "\r\n")
	if auth != "" {
		b.WriteString("Authorization: " + auth + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		conn.Close()
		return nil, connectionError(err)
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, timeoutError(err)
		}
		return nil, connectionError(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		conn.Close()
		return nil, newAPIError(resp.StatusCode, resp.Header, body)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, errorf(ErrConnection, "connection_error", "websocket upgrade: bad Sec-WebSocket-Accept")
	}
	conn.SetDeadline(time.Time{})
	return &wsConn{conn: conn, br: br}, nil
}

// writeFrame sends one masked frame.
func (w *wsConn) writeFrame(op byte, payload []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.closed {
		return errors.New("websocket: closed")
	}
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x80|op)
	n := len(payload)
	switch {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 65536:
		hdr = append(hdr, 0x80|126, byte(n>>8), byte(n))
	default:
		hdr = append(hdr, 0x80|127)
		var l [8]byte
		binary.BigEndian.PutUint64(l[:], uint64(n))
		hdr = append(hdr, l[:]...)
	}
	var mask [4]byte
	rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	buf := make([]byte, len(hdr)+n)
	copy(buf, hdr)
	for i := 0; i < n; i++ {
		buf[len(hdr)+i] = payload[i] ^ mask[i&3]
	}
	_, err := w.conn.Write(buf)
	if op == opClose {
		w.closed = true
	}
	return err
}

func (w *wsConn) writeText(b []byte) error { return w.writeFrame(opText, b) }

// readMessage returns the next whole text (or binary) message, answering
// pings on the way. A close frame is answered and returned as *wsClosed.
func (w *wsConn) readMessage() ([]byte, error) {
	var msg []byte
	started := false
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.br, h[:]); err != nil {
			return nil, err
		}
		fin := h[0]&0x80 != 0
		op := h[0] & 0x0f
		masked := h[1]&0x80 != 0
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var l [2]byte
			if _, err := io.ReadFull(w.br, l[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(l[:]))
		case 127:
			var l [8]byte
			if _, err := io.ReadFull(w.br, l[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(l[:])
		}
		if n > 1<<30 {
			return nil, errors.New("websocket: frame too large")
		}
		var mask [4]byte
		if masked {
			if _, err := io.ReadFull(w.br, mask[:]); err != nil {
				return nil, err
			}
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(w.br, payload); err != nil {
			return nil, err
		}
		if masked {
			for i := range payload {
				payload[i] ^= mask[i&3]
			}
		}
		switch op {
		case opPing:
			if err := w.writeFrame(opPong, payload); err != nil {
				return nil, err
			}
			continue
		case opPong:
			continue
		case opClose:
			code, reason := 1005, ""
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload[:2]))
				reason = string(payload[2:])
			}
			w.closeCode, w.closeReason = code, reason
			w.writeFrame(opClose, payload[:minInt(len(payload), 2)])
			return nil, &wsClosed{code: code, reason: reason}
		case opText, opBin:
			if started {
				return nil, errors.New("websocket: new message inside a fragmented one")
			}
			msg, started = payload, true
		case opCont:
			if !started {
				return nil, errors.New("websocket: continuation without a message")
			}
			msg = append(msg, payload...)
		default:
			return nil, errors.New("websocket: unknown opcode")
		}
		if fin {
			return msg, nil
		}
	}
}

// close sends a normal close frame (if not sent yet) and closes the socket.
func (w *wsConn) close() error {
	w.writeFrame(opClose, []byte{0x03, 0xe8})
	return w.conn.Close()
}

func minInt(a, b int) int {
	if a < b {
		return a
	}
	return b
}
