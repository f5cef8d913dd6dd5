package soulbox

import "strings"

// Dedent returns code with its common indentation removed, the rule every
// SoulBox SDK applies to the code it sends (unless NoDedent is set): a first
// line that is empty is dropped, then the whitespace that every non-blank line
// starts with is removed (Python's textwrap.dedent rule: tabs and spaces must
// match exactly; blank lines become empty). Code whose lines share no leading
// whitespace is returned unchanged, so ordinary code never changes.
//
// It lets Go raw strings be indented with the surrounding source:
//
//	code := `
//	    import numpy as np
//	    print(np.random.rand(3, 3))
//	    `
func Dedent(code string) string {
	body := code
	if strings.HasPrefix(body, "\n") {
		body = body[1:]
	} else if strings.HasPrefix(body, "\r\n") {
		body = body[2:]
	}
	margin, found := "", false
	rest := body
	for len(rest) > 0 {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if isBlank(line) {
			continue
		}
		ws := leadingWS(line)
		if !found {
			margin, found = ws, true
			continue
		}
		n := 0
		for n < len(margin) && n < len(ws) && margin[n] == ws[n] {
			n++
		}
		margin = margin[:n]
		if margin == "" {
			return code
		}
	}
	if margin == "" {
		return code
	}
	var b strings.Builder
	b.Grow(len(body))
	rest = body
	for {
		line := rest
		i := strings.IndexByte(rest, '\n')
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		}
		if !isBlank(line) {
			b.WriteString(strings.TrimPrefix(line, margin))
		}
		if i < 0 {
			break
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func leadingWS(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[:i]
}

func isBlank(line string) bool { return strings.Trim(line, " \t\r") == "" }
