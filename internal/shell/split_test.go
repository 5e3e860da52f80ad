package shell

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		stmts []string
		rest  string
	}{
		{"empty", "", nil, ""},
		{"one", "SELECT 1;", []string{"SELECT 1"}, ""},
		{"two and a tail", "SELECT 1; SELECT 2;\nSELECT", []string{"SELECT 1", "SELECT 2"}, "\nSELECT"},
		{"no semicolon", "SELECT 1", nil, "SELECT 1"},
		{"semicolon in string", "SELECT 'a;b';", []string{"SELECT 'a;b'"}, ""},
		{"doubled quote", "SELECT 'it''s;';", []string{"SELECT 'it''s;'"}, ""},
		{"semicolon in identifier", `SELECT 1 AS "x;y";`, []string{`SELECT 1 AS "x;y"`}, ""},
		{"line comment", "SELECT 1 -- a; b\n;", []string{"SELECT 1 -- a; b"}, ""},
		{"block comment", "SELECT /* ; */ 1;", []string{"SELECT /* ; */ 1"}, ""},
		{"comment-only statement", "-- nothing;\n; SELECT 1;", []string{"SELECT 1"}, ""},
		{"dollar quote", "SELECT $$a;b$$;", []string{"SELECT $$a;b$$"}, ""},
		{"tagged dollar quote", "SELECT $fn$ $$; $fn$;", []string{"SELECT $fn$ $$; $fn$"}, ""},
		{"parameter is not a quote", "SELECT $1; SELECT 2;", []string{"SELECT $1", "SELECT 2"}, ""},
		{"unclosed quote stays in rest", "SELECT 'abc; SELECT 2;", nil, "SELECT 'abc; SELECT 2;"},
		{"unclosed comment stays in rest", "SELECT 1 /* ;", nil, "SELECT 1 /* ;"},
		{"empty statements", ";;SELECT 1;;", []string{"SELECT 1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, rest := Split(tt.in)
			if diff := cmp.Diff(tt.stmts, stmts); diff != "" {
				t.Errorf("Split(%q) statements (-want +got):\n%s", tt.in, diff)
			}
			if rest != tt.rest {
				t.Errorf("Split(%q) rest = %q, want %q", tt.in, rest, tt.rest)
			}
		})
	}
}

// FuzzSplit checks that splitting never loses code: every statement is a trimmed piece of
// the input, and each statement splits again into itself.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "SELECT 'a;''b'; -- c\n/* d; */ $$e;$$;", "$x$;$x$;$1;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		stmts, rest := Split(in)
		if !strings.HasSuffix(in, rest) {
			t.Fatalf("rest %q is not the tail of %q", rest, in)
		}
		for _, s := range stmts {
			if !strings.Contains(in, s) {
				t.Fatalf("statement %q is not in the input %q", s, in)
			}
			again, tail := Split(s + ";")
			if len(again) != 1 || again[0] != s || tail != "" {
				t.Fatalf("statement %q splits again into %q, rest %q", s, again, tail)
			}
		}
	})
}
