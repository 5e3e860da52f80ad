// Package shell is the core of `mlprov shell`; its statement splitter also serves every
// command that runs a SQL script.
package shell

import "strings"

// Split cuts text into the statements it holds, each ending at a semicolon that stands
// outside quotes ('...', "..."), comments (-- and /* */) and dollar quotes ($$...$$,
// $tag$...$tag$). Statements are returned without their semicolon, trimmed, and only if they
// hold more than comments. rest is what follows the last semicolon: an unfinished statement,
// or empty. Split never fails: an unclosed quote or comment simply stays in rest.
func Split(text string) (stmts []string, rest string) {
	start := 0
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\'' || c == '"':
			i = skipQuoted(text, i+1, c)
		case c == '-' && strings.HasPrefix(text[i:], "--"):
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(text)
			}
		case c == '/' && strings.HasPrefix(text[i:], "/*"):
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(text)
			}
		case c == '$':
			if tag, ok := dollarTag(text[i:]); ok {
				if j := strings.Index(text[i+len(tag):], tag); j >= 0 {
					i += len(tag) + j + len(tag)
				} else {
					i = len(text)
				}
			} else {
				i++
			}
		case c == ';':
			if s := strings.TrimSpace(text[start:i]); HasCode(s) {
				stmts = append(stmts, s)
			}
			i++
			start = i
		default:
			i++
		}
	}
	return stmts, text[start:]
}

// skipQuoted returns the index just past the closing quote q (a doubled quote escapes it),
// or len(text) when the quote is not closed.
func skipQuoted(text string, i int, q byte) int {
	for i < len(text) {
		if text[i] == q {
			if i+1 < len(text) && text[i+1] == q {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(text)
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
