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

func TestStatementsOffsets(t *testing.T) {
	in := "SELECT 1;\n  -- note\n  SELECT\n 2 ; /* c */ ;\tSELECT 3"
	stmts, rest := Statements(in)
	want := []Statement{{"SELECT 1", 0}, {"-- note\n  SELECT\n 2", 12}}
	if diff := cmp.Diff(want, stmts); diff != "" {
		t.Errorf("Statements (-want +got):\n%s", diff)
	}
	if rest != "\tSELECT 3" {
		t.Errorf("rest = %q", rest)
	}
}

func TestUnclosed(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"SELECT 1", false},
		{"SELECT 'a", true},
		{"SELECT 'a''", true},
		{"SELECT 'a'''", false},
		{`SELECT "x`, true},
		{"SELECT 1 /* c", true},
		{"SELECT 1 /* c */", false},
		{"/* only a comment, open", true},
		{"SELECT 1 -- c", false},
		{"SELECT $$x", true},
		{"SELECT $t$ $$ $t", true},
		{"SELECT $t$ x $t$", false},
		{"SELECT $1", false},
	}
	for _, tt := range tests {
		if got := Unclosed(tt.in); got != tt.want {
			t.Errorf("Unclosed(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
		ok   bool
	}{
		{"one line already", "SELECT 1;", "SELECT 1;", true},
		{"line breaks and indentation", "SELECT a,\n       b\nFROM t\r\nWHERE x;", "SELECT a, b FROM t WHERE x;", true},
		{"line comment dropped", "SELECT 1 -- one\n  + 2; -- tail", "SELECT 1 + 2;", true},
		{"blanks before a line break", "SELECT 1,  \t\n  2   -- two\nFROM t;", "SELECT 1, 2 FROM t;", true},
		{"comment marker in a string stays", "SELECT '--x'\n;", "SELECT '--x' ;", true},
		{"block comment kept on one line", "SELECT /* a\n b */ 1;", "SELECT /* a b */ 1;", true},
		{"two statements", "SELECT 1;\nSELECT 2;", "SELECT 1; SELECT 2;", true},
		{"parameter", "SELECT $1\n;", "SELECT $1 ;", true},
		{"line break in a string", "SELECT 'a\nb';", "", false},
		{"line break in an identifier", "SELECT 1 AS \"a\nb\";", "", false},
		{"line break in a dollar quote", "SELECT $$a\nb$$;", "", false},
		{"dollar quote on one line", "SELECT $$a;b$$\n;", "SELECT $$a;b$$ ;", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := OneLine(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("OneLine(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzSplit checks that splitting never loses code: every statement is a trimmed piece of
// the input found at its offset, each statement splits again into itself (a line break ends
// a trailing line comment, as in the input), and the one-line form of the input for the
// history holds as many statements.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "SELECT 'a;''b'; -- c\n/* d; */ $$e;$$;", "$x$;$x$;$1;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		all, rest := Statements(in)
		if !strings.HasSuffix(in, rest) {
			t.Fatalf("rest %q is not the tail of %q", rest, in)
		}
		for _, st := range all {
			if !strings.HasPrefix(in[st.Offset:], st.Text) {
				t.Fatalf("statement %q is not at offset %d of %q", st.Text, st.Offset, in)
			}
			s := st.Text
			again, tail := Split(s + "\n;")
			if len(again) != 1 || again[0] != s || tail != "" {
				t.Fatalf("statement %q splits again into %q, rest %q", s, again, tail)
			}
		}
		if Unclosed(in) != Unclosed(rest) {
			t.Fatalf("Unclosed(%q) = %v but Unclosed(rest %q) = %v", in, Unclosed(in), rest, Unclosed(rest))
		}
		line, ok := OneLine(in)
		if !ok || Unclosed(in) {
			return
		}
		if strings.ContainsAny(line, "\n\r") {
			t.Fatalf("OneLine(%q) = %q holds a line break", in, line)
		}
		if again, _ := Split(line); len(again) != len(all) {
			t.Fatalf("OneLine(%q) = %q holds %d statements, want %d", in, line, len(again), len(all))
		}
	})
}
