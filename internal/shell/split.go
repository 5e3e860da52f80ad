// Package shell is the core of `mlprov shell`; its statement splitter also serves every
// command that runs a SQL script.
package shell

import (
	"bytes"
	"strings"
	"unicode"
)

// Statement is one statement of a script: its text, trimmed and without the semicolon, and
// the byte offset in the script where the text starts.
type Statement struct {
	Text   string
	Offset int
}

// Split cuts text into the statements it holds, each ending at a semicolon that stands
// outside quotes ('...', "..."), comments (-- and /* */) and dollar quotes ($$...$$,
// $tag$...$tag$). Statements are returned without their semicolon, trimmed, and only if they
// hold more than comments. rest is what follows the last semicolon: an unfinished statement,
// or empty. Split never fails: an unclosed quote or comment simply stays in rest.
func Split(text string) (stmts []string, rest string) {
	all, rest := Statements(text)
	for _, st := range all {
		stmts = append(stmts, st.Text)
	}
	return stmts, rest
}

// Statements is Split that also says where each statement starts, so that a script's errors
// can name its line.
func Statements(text string) (stmts []Statement, rest string) {
	start := 0
	scan(text, func(i int) {
		raw := text[start:i]
		if s := strings.TrimSpace(raw); HasCode(s) {
			lead := len(raw) - len(strings.TrimLeftFunc(raw, unicode.IsSpace))
			stmts = append(stmts, Statement{Text: s, Offset: start + lead})
		}
		start = i + 1
	})
	return stmts, text[start:]
}

// Unclosed reports whether text ends inside a quote, a block comment or a dollar quote, so
// that a shell must read on even though no code may have been seen yet.
func Unclosed(text string) bool {
	return scan(text, func(int) {})
}

// scan walks text, calling semicolon with the index of every semicolon outside quotes,
// comments and dollar quotes. It reports whether text ends inside a quote, a block comment
// or a dollar quote.
func scan(text string, semicolon func(i int)) (unclosed bool) {
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"':
			end, ok := skipQuoted(text, i+1, c)
			if !ok {
				return true
			}
			i = end
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(text)
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return true
			}
			i += j + 4
		case c == '$':
			tag, ok := dollarTag(text[i:])
			if !ok {
				i++
				break
			}
			j := strings.Index(text[i+len(tag):], tag)
			if j < 0 {
				return true
			}
			i += len(tag) + j + len(tag)
		case c == ';':
			semicolon(i)
			i++
		default:
			i++
		}
	}
	return false
}

// OneLine rewrites a statement (or several) as one line for the shell's history, which keeps
// one entry per line: line comments are dropped, and each line break outside quotes, with the
// blanks around it, becomes one space. ok is false when a quote or dollar quote holds a
// line break, which no single line can keep.
func OneLine(text string) (line string, ok bool) {
	var b []byte
	lineBreak := func() {
		b = bytes.TrimRight(b, " \t")
		if len(b) > 0 {
			b = append(b, ' ')
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"':
			end, _ := skipQuoted(text, i+1, c)
			if strings.ContainsAny(text[i:end], "\n\r") {
				return "", false
			}
			b = append(b, text[i:end]...)
			i = end
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = len(text) - i
			}
			i += j
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			end := len(text)
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				end = i + j + 4
			}
			b = append(b, strings.Join(strings.Fields(text[i:end]), " ")...)
			i = end
		case c == '$':
			tag, isQuote := dollarTag(text[i:])
			if !isQuote {
				b = append(b, c)
				i++
				break
			}
			end := len(text)
			if j := strings.Index(text[i+len(tag):], tag); j >= 0 {
				end = i + len(tag) + j + len(tag)
			}
			if strings.ContainsAny(text[i:end], "\n\r") {
				return "", false
			}
			b = append(b, text[i:end]...)
			i = end
		case c == '\n' || c == '\r':
			lineBreak()
			for i++; i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'); i++ {
			}
		default:
			b = append(b, c)
			i++
		}
	}
	return strings.TrimSpace(string(b)), true
}

// skipQuoted returns the index just past the closing quote q (a doubled quote escapes it),
// or len(text) and false when the quote is not closed.
func skipQuoted(text string, i int, q byte) (int, bool) {
	for i < len(text) {
		if text[i] == q {
			if i+1 < len(text) && text[i+1] == q {
				i += 2
				continue
			}
			return i + 1, true
		}
		i++
	}
	return len(text), false
}

// dollarTag reports whether s starts with a dollar-quote opener ($$ or $tag$) and returns it.
// A $ followed by a digit is a parameter ($1), not a quote.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || j > 1 && c >= '0' && c <= '9':
		default:
			return "", false
		}
	}
	return "", false
}

// HasCode reports whether s holds anything but white space and comments.
func HasCode(s string) bool {
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "--"):
			j := strings.IndexByte(s[i:], '\n')
			if j < 0 {
				return false
			}
			i += j + 1
		case strings.HasPrefix(s[i:], "/*"):
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				return false
			}
			i += j + 4
		case s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r':
			i++
		default:
			return true
		}
	}
	return false
}
