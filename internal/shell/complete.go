package shell

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"mlprov/internal/render"
)

// completionTimeout bounds the catalog look-ups behind one press of Tab.
const completionTimeout = 500 * time.Millisecond

// maxCompletions caps the candidates one press of Tab offers.
const maxCompletions = 200

// complete is the terminal's tab completion. pos counts runes, as liner does. Dot-commands
// and their arguments are completed here; SQL by DuckDB's sql_auto_complete, which knows the
// keywords, the functions and the catalog (tables, views, columns) in context.
func (s *session) complete(line string, pos int) (head string, completions []string, tail string) {
	runes := []rune(line)
	pos = min(max(pos, 0), len(runes))
	before, tail := string(runes[:pos]), string(runes[pos:])
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	if s.pending == "" && isCommand(before) {
		head, completions = s.completeCommand(ctx, before)
	} else {
		head, completions = s.completeSQL(ctx, s.pending, before)
	}
	return head, completions, tail
}

// completeCommand completes a dot-command's name or its argument under the cursor.
func (s *session) completeCommand(ctx context.Context, before string) (string, []string) {
	start := strings.LastIndexAny(before, " \t") + 1
	head, word := before[:start], before[start:]
	if strings.TrimSpace(head) == "" {
		var names []string
		for _, spec := range commands {
			names = append(names, spec.name)
		}
		return head, withPrefix(names, word)
	}
	name := strings.Fields(before)[0]
	switch name {
	case ".help":
		var names []string
		for _, spec := range commands {
			names = append(names, spec.name)
		}
		return head, withPrefix(names, word)
	case ".mode":
		return head, withPrefix(render.Formats, word)
	case ".headers", ".timer":
		return head, withPrefix([]string{"on", "off"}, word)
	case ".schema":
		return head, withPrefix(s.catalogNames(ctx), word)
	case ".run":
		as, _ := s.analyses()
		var names []string
		for _, a := range as {
			names = append(names, a.Name)
		}
		return head, withPrefix(names, word)
	case ".lineage":
		return head, withPrefix([]string{"--up", "--down", "--hops", "--relinks", "--artifact", "--execution"}, word)
	case ".read", ".output", ".once":
		return head, completeFile(word)
	case ".explain":
		sqlStart := len(name)
		if rest := strings.TrimLeft(before[sqlStart:], " \t"); strings.HasPrefix(strings.ToLower(rest), "analyze ") {
			sqlStart = len(before) - len(rest) + len("analyze ")
		}
		h, c := s.completeSQL(ctx, "", before[sqlStart:])
		return before[:sqlStart] + h, c
	}
	return head, nil
}

// withPrefix keeps the names that start with word, ignoring case.
func withPrefix(names []string, word string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), strings.ToLower(word)) {
			out = append(out, n)
		}
	}
	return out
}

// completeFile completes a path; folders end in a slash so that Tab can go on into them.
func completeFile(word string) []string {
	matches, _ := filepath.Glob(word + "*")
	for i, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			matches[i] = m + string(filepath.Separator)
		}
	}
	return matches
}

// catalogNames lists the tables and views, for .schema.
func (s *session) catalogNames(ctx context.Context) []string {
	rows, err := s.conn.QueryContext(ctx, `SELECT table_name FROM duckdb_tables() WHERE NOT internal
UNION SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	if rows.Err() != nil {
		return nil
	}
	return names
}

// completeSQL asks DuckDB what may follow pending+before, and keeps the candidates that
// start with the word under the cursor. It returns the part of before that stays.
func (s *session) completeSQL(ctx context.Context, pending, before string) (string, []string) {
	rows, err := s.conn.QueryContext(ctx,
		`SELECT suggestion, suggestion_start, suggestion_type FROM sql_auto_complete($1) ORDER BY suggestion_score, suggestion`,
		pending+before)
	if err != nil {
		return before, nil
	}
	defer rows.Close()
	var (
		start = -1
		out   []string
	)
	for rows.Next() && len(out) < maxCompletions {
		var (
			sugg, typ string
			at        int
		)
		if err := rows.Scan(&sugg, &at, &typ); err != nil {
			return before, nil
		}
		at -= len(pending)
		if at < 0 || at > len(before) || start >= 0 && at != start {
			continue
		}
		start = at
		word := before[at:]
		if !strings.HasPrefix(unquote(strings.ToLower(sugg)), unquote(strings.ToLower(word))) {
			continue
		}
		if typ == "keyword" {
			sugg = matchCase(sugg, word)
		}
		if !slices.Contains(out, sugg) {
			out = append(out, sugg)
		}
	}
	if start < 0 || rows.Err() != nil {
		return before, nil
	}
	return before[:start], out
}

func unquote(s string) string { return strings.TrimPrefix(s, `"`) }

// matchCase writes a keyword in the case the user began it in: SEL → SELECT, sel → select.
func matchCase(keyword, typed string) string {
	upper, lower := false, false
	for _, r := range typed {
		upper = upper || unicode.IsUpper(r)
		lower = lower || unicode.IsLower(r)
	}
	switch {
	case upper && !lower:
		return strings.ToUpper(keyword)
	case lower && !upper:
		return strings.ToLower(keyword)
	}
	return keyword
}
