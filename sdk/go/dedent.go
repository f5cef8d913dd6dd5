package soulbox

import "strings"

// Dedent returns code with its common indentation removed, the rule every
// SoulBox SDK applies to the code it sends (unless NoDedent is set): a first
// line that is empty is dropped, then the whitespace that every non-blank line
// starts with is removed (Python's textwrap.dedent rule: tabs and spaces must
// match exactly; lines of only spaces and tabs become empty). Code whose lines
// share no leading whitespace is returned unchanged, so ordinary code never
// changes.
//
// It lets Go raw strings be indented with the surrounding source:
//
//	code := `
//	    import numpy as np
//	    print(np.random.rand(3, 3))
//	    `
func Dedent(code string) string {
	if code == "" || !strings.ContainsAny(code[:1], " \t\r\n") {
		return code // fast path: no margin possible
	}
	text := code
	if strings.HasPrefix(text, "\n") {
		text = text[1:]
	} else if strings.HasPrefix(text, "\r\n") {
		text = text[2:]
	}
	if out := textwrapDedent(text); out != text {
		return out
	}
	return code
}

// textwrapDedent is Python's textwrap.dedent.
func textwrapDedent(text string) string {
	lines := strings.Split(text, "\n")
	margin, found := "", false
	for i, line := range lines {
		if line == "" {
			continue
		}
		if strings.Trim(line, " \t") == "" {
			lines[i] = "" // whitespace-only lines are normalized
			continue
		}
		ws := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		switch {
		case !found:
			margin, found = ws, true
		case strings.HasPrefix(ws, margin):
		case strings.HasPrefix(margin, ws):
			margin = ws
		default:
			n := 0
			for n < len(margin) && n < len(ws) && margin[n] == ws[n] {
				n++
			}
			margin = margin[:n]
		}
	}
	if margin != "" {
		for i, line := range lines {
			lines[i] = strings.TrimPrefix(line, margin)
		}
	}
	return strings.Join(lines, "\n")
}
