package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"mlprov/internal/golden"
	"mlprov/internal/shell"
)

// session is mlprov shell running under a pseudo-terminal, 100 columns by 40 rows.
type session struct {
	t      *testing.T
	pty    *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    []byte // everything the shell wrote to the terminal
	seen   int    // how much of out expectations have consumed
	closed chan struct{}
}

func startShell(t *testing.T, store, history string) *session {
	t.Helper()
	cmd := exec.Command(mlprovBinary(t), "shell", "--db", store)
	cmd.Env = append(os.Environ(), "TERM=xterm", "MLPROV_HISTORY="+history, "HOME="+t.TempDir())
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, pty: f, cmd: cmd, closed: make(chan struct{})}
	go func() {
		defer close(s.closed)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			s.mu.Lock()
			s.out = append(s.out, buf[:n]...)
			s.mu.Unlock()
			if err != nil {
				return // EIO once the shell has exited
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // the shell has usually exited already
		f.Close()
	})
	s.expect(shell.Prompt)
	return s
}

// send types keys at the terminal.
func (s *session) send(keys string) {
	s.t.Helper()
	if _, err := s.pty.Write([]byte(keys)); err != nil {
		s.t.Fatal(err)
	}
}

// expect waits until text appears in what the shell wrote since the last expectation, and
// returns how long that took.
func (s *session) expect(text string) time.Duration {
	s.t.Helper()
	start := time.Now()
	for deadline := start.Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		i := bytes.Index(s.out[s.seen:], []byte(text))
		if i >= 0 {
			s.seen += i + len(text)
		}
		s.mu.Unlock()
		if i >= 0 {
			return time.Since(start)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t.Fatalf("no %q within 10s; the terminal shows:\n%s", text, screen(s.out))
	return 0
}

// run types a line, waits for marker in its output (if any) and then for the next prompt.
func (s *session) run(line, marker string) {
	s.t.Helper()
	s.send(line + "\r")
	if marker != "" {
		s.expect(marker)
	}
	s.expect(shell.Prompt)
}

// exit presses Ctrl-D and waits for the shell to end with status 0.
func (s *session) exit() {
	s.t.Helper()
	s.quit("\x04")
}

// quit types keys that end the shell and waits for it to end with status 0.
func (s *session) quit(keys string) {
	s.t.Helper()
	s.send(keys)
	if err := s.wait(); err != nil {
		s.t.Fatalf("the shell ended with %v; the terminal shows:\n%s", err, s.screen())
	}
}

// wait waits for the shell to end, at most 10s, and returns how it ended.
func (s *session) wait() error {
	s.t.Helper()
	ended := make(chan error, 1)
	go func() { ended <- s.cmd.Wait() }()
	select {
	case err := <-ended:
		<-s.closed
		return err
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill() // the test fails anyway
		s.t.Fatalf("the shell still runs 10s later; the terminal shows:\n%s", s.screen())
		return nil
	}
}

func (s *session) screen() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return screen(s.out)
}

// longQuery runs for half a minute on this machine unless it is interrupted.
const longQuery = "SELECT count(*) FROM range(100000) a, range(100000) b WHERE a.range + b.range = -1;"

// TestShellTerminal drives the built binary under a pseudo-terminal, as a person would, and
// compares the screen at the end of each session with testdata/shell/CASE/want.txt.
func TestShellTerminal(t *testing.T) {
	store := exampleStore(t)
	tests := []struct {
		name string
		// history is the history file's content before the session.
		history string
		run     func(t *testing.T, s *session)
		// wantHistory is the history file's content after it.
		wantHistory string
	}{
		{name: "multiline", run: func(t *testing.T, s *session) {
			s.send("SELECT op_type,\r")
			s.expect(shell.ContinuePrompt)
			s.send("       count(*) AS n  -- per operator\r")
			s.expect(shell.ContinuePrompt)
			s.run("FROM executions GROUP BY ALL ORDER BY n DESC, op_type LIMIT 3;", "(3 rows)")
			// Ctrl-C at a continuation prompt drops the unfinished statement.
			s.send("SELECT 'dropped'\r")
			s.expect(shell.ContinuePrompt)
			s.send("\x03")
			s.expect("^C")
			s.expect(shell.Prompt)
			s.run("SELECT 'a fresh statement' AS after_ctrl_c;", "(1 row)")
			s.exit()
		}, wantHistory: "SELECT op_type, count(*) AS n FROM executions GROUP BY ALL ORDER BY n DESC, op_type LIMIT 3;\n" +
			"SELECT 'a fresh statement' AS after_ctrl_c;\n"},
		{name: "syntax_error", run: func(t *testing.T, s *session) {
			s.run("SELEC op_type FROM executions;", "syntax error")
			s.run("SELECT * FROM executionz;", "does not exist")
			s.run("SELECT 'the shell goes on' AS still_here;", "(1 row)")
			s.exit()
		}},
		{name: "interrupt", run: func(t *testing.T, s *session) {
			s.send(longQuery + "\r")
			s.expect(longQuery + "\r\n")
			time.Sleep(300 * time.Millisecond) // let it run
			s.send("\x03")
			took := s.expect("interrupted")
			t.Logf("Ctrl-C cancelled the statement in %v", took)
			if took > time.Second {
				t.Errorf("Ctrl-C took %v to cancel the statement, want under a second", took)
			}
			s.expect(shell.Prompt)
			s.run("SELECT 'the shell goes on' AS still_here;", "(1 row)")
			s.exit()
		}},
		{name: "history", history: "SELECT 'from the history file' AS recalled;\n", run: func(t *testing.T, s *session) {
			s.send("\x1b[A") // up: the last session's statement
			s.expect("from the history file")
			s.send("\r")
			s.expect("(1 row)")
			s.expect(shell.Prompt)
			s.send("SELECT 6 *\r")
			s.expect(shell.ContinuePrompt)
			s.run("  7 AS answer;", "(1 row)")
			s.send("\x1b[A") // up: the statement just run, joined into one line
			s.expect("SELECT 6 * 7 AS answer;")
			s.send("\r")
			s.expect("(1 row)")
			s.expect(shell.Prompt)
			s.exit()
		}, wantHistory: "SELECT 'from the history file' AS recalled;\nSELECT 6 * 7 AS answer;\n"},
		{name: "completion", run: func(t *testing.T, s *session) {
			s.send("SELECT count(*) AS n FROM op_ca\t") // the one table that starts so
			s.expect("op_categories")
			s.run(";", "(1 row)")
			s.send(".sch\t") // a dot-command
			s.expect(".schema")
			s.send(" op_cat\t") // and its argument
			s.expect("op_categories")
			s.run("", "CREATE TABLE op_categories")
			s.exit()
		}},
		{name: "mode_json", run: func(t *testing.T, s *session) {
			s.run(".mode json", "")
			s.run("SELECT pipeline_id, name, attrs FROM pipelines ORDER BY pipeline_id;", "]")
			s.exit()
		}},
		{name: "lineage", run: func(t *testing.T, s *session) {
			s.run(".lineage 2007 --up --hops 3", "(6 rows)")
			s.run(".lineage e:204 --down --hops 2", "rows)")
			s.run(".lineage 5", "no artifact or execution 5 in the store")
			s.exit()
		}},
		{name: "graphlet", run: func(t *testing.T, s *session) {
			s.run(".graphlet 116", "(24 rows)")
			s.run(".graphlet 101", "no such graphlet")
			s.exit()
		}},
		{name: "terminate", run: func(t *testing.T, s *session) {
			// SIGTERM at an idle prompt, where the shell is blocked reading the terminal.
			if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var exit *exec.ExitError
			if err := s.wait(); !errors.As(err, &exit) || exit.ExitCode() != 130 {
				t.Errorf("after SIGTERM the shell ended with %v, want status 130", err)
			}
			// liner's raw mode must be undone: the terminal echoes and reads lines again.
			tio, err := unix.IoctlGetTermios(int(s.pty.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if tio.Lflag&unix.ECHO == 0 || tio.Lflag&unix.ICANON == 0 {
				t.Errorf("the terminal is left without echo or line mode (lflag %#x)", tio.Lflag)
			}
		}},
		{name: "wide", run: func(t *testing.T, s *session) {
			s.run(".maxrows 6", "")
			s.run("SELECT * FROM artifacts ORDER BY artifact_id;", "shown")
			s.quit(".quit\r")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			history := filepath.Join(t.TempDir(), "history")
			if tt.history != "" {
				if err := os.WriteFile(history, []byte(tt.history), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := startShell(t, store, history)
			tt.run(t, s)
			got := strings.ReplaceAll(s.screen(), store, "STORE")
			golden.Check(t, filepath.Join("testdata", "shell", tt.name, "want.txt"), got)
			if tt.wantHistory != "" {
				b, err := os.ReadFile(history)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != tt.wantHistory {
					t.Errorf("history file:\n%s\nwant:\n%s", b, tt.wantHistory)
				}
			}
		})
	}
}

// TestShellScript runs scripts through standard input that is not a terminal: results are
// printed, and the first error ends the run with status 1, naming the line.
func TestShellScript(t *testing.T) {
	store := exampleStore(t)
	tests := []struct {
		name       string
		args       []string
		script     string
		wantStatus int
		wantOut    string
		wantErr    string
	}{
		{"runs every statement", nil, "SELECT count(*) AS pipelines FROM pipelines;\n.mode csv\nSELECT name FROM pipelines ORDER BY name;\n", 0,
			"┌───────────┐\n│ pipelines │\n├───────────┤\n│         2 │\n└───────────┘\n(1 row)\nname\nfraud\ntaxi\n", ""},
		{"stops at the first error", nil, ".mode csv\nSELECT 1 AS one;\n\nSELECT * FROM nope;\nSELECT 2 AS two;\n", 1,
			"one\n1\n", "error: stdin:4: SELECT * FROM nope: Catalog Error: Table with name nope does not exist!"},
		{"read-only store refuses writes", []string{"--read-only"}, "CREATE TABLE t (i INT);\n", 1,
			"", "error: stdin:1: CREATE TABLE t (i INT): Invalid Input Error: Cannot execute statement of type \"CREATE\""},
		{"no arguments", []string{"script.sql"}, "", 2, "", "error: unexpected argument \"script.sql\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			args := append([]string{"shell", "--db", store}, tt.args...)
			code := run(context.Background(), args, strings.NewReader(tt.script), &out, &errs)
			if code != tt.wantStatus {
				t.Errorf("status %d, want %d (stderr %q)", code, tt.wantStatus, errs.String())
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tt.wantOut)
			}
			if !strings.HasPrefix(errs.String(), tt.wantErr) {
				t.Errorf("stderr %q, want it to start with %q", errs.String(), tt.wantErr)
			}
		})
	}

	// The built binary's exit status, as a shell script or CI sees it.
	cmd := exec.Command(mlprovBinary(t), "shell", "--db", store)
	cmd.Stdin = strings.NewReader("SELECT 1;\nSELEC 2;\n")
	var errs bytes.Buffer
	cmd.Stderr = &errs
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("exit = %v, want status 1", err)
	}
	if want := "error: stdin:2: SELEC 2: Parser Error: syntax error"; !strings.HasPrefix(errs.String(), want) {
		t.Errorf("stderr %q, want %q", errs.String(), want)
	}
}

// screen replays what a program wrote to a terminal and returns the text left on it, line by
// line: enough of a terminal for liner's output (carriage returns, CSI cursor moves and erases).
func screen(out []byte) string {
	var (
		lines    = [][]rune{nil}
		row, col int
	)
	put := func(r rune) {
		for len(lines) <= row {
			lines = append(lines, nil)
		}
		for len(lines[row]) < col {
			lines[row] = append(lines[row], ' ')
		}
		if col < len(lines[row]) {
			lines[row][col] = r
		} else {
			lines[row] = append(lines[row], r)
		}
		col++
	}
	rs := []rune(string(out))
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; {
		case r == '\r':
			col = 0
		case r == '\n':
			row++
			for len(lines) <= row {
				lines = append(lines, nil)
			}
		case r == '\b':
			col = max(col-1, 0)
		case r == '\x1b' && i+1 < len(rs) && rs[i+1] == '[':
			j := i + 2
			for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == ';' || rs[j] == '?') {
				j++
			}
			if j == len(rs) {
				i = j
				break
			}
			n, err := strconv.Atoi(string(rs[i+2 : j]))
			if err != nil {
				n = 0
			}
			switch rs[j] {
			case 'K': // erase to the end of the line (n=0)
				if n == 0 && row < len(lines) && col < len(lines[row]) {
					lines[row] = lines[row][:col]
				}
			case 'G': // to column n
				col = max(n, 1) - 1
			case 'C':
				col += max(n, 1)
			case 'D':
				col = max(col-max(n, 1), 0)
			case 'A':
				row = max(row-max(n, 1), 0)
			case 'B':
				row += max(n, 1)
			}
			i = j
		case r < ' ': // bell and other controls leave no mark
		default:
			put(r)
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimRight(string(l), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}
