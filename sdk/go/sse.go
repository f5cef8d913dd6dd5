package soulbox

import (
	"bufio"
	"bytes"
	"io"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data []byte
}

// sseReader parses a text/event-stream body.
type sseReader struct {
	br *bufio.Reader
}

func newSSEReader(r io.Reader) *sseReader { return &sseReader{br: bufio.NewReaderSize(r, 32<<10)} }

// next returns the next event (comments and empty events skipped); io.EOF at the end.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	var data bytes.Buffer
	hasData := false
	for {
		line, err := s.br.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			if hasData {
				ev.data = data.Bytes()
				return ev, nil
			}
			return ev, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if hasData || ev.name != "" {
				ev.data = data.Bytes()
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "event":
			ev.name = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		}
		if err != nil {
			ev.data = data.Bytes()
			return ev, nil
		}
	}
}
