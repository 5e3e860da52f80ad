package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/peterh/liner"
)

// errAborted means the user pressed Ctrl-C at the prompt: the line is dropped.
var errAborted = errors.New("aborted")

// script reads lines from a script; it has no prompt and no history.
type script struct{ r *bufio.Reader }

func newScript(r io.Reader) *script { return &script{r: bufio.NewReader(r)} }

func (s *script) ReadLine(string) (string, error) {
	line, err := s.r.ReadString('\n')
	if err == io.EOF && line != "" {
		err = nil
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

func (s *script) AddHistory(string) {}
func (s *script) Interactive() bool { return false }

// terminal reads lines from the process's terminal with peterh/liner: line editing, history
// (the up arrow, Ctrl-R) and tab completion. liner leaves raw mode between prompts, so that
// while a statement runs the terminal turns Ctrl-C into SIGINT, which cancels the statement.
type terminal struct {
	line    *liner.State
	history string
	errs    io.Writer
}

// newTerminal puts the terminal into line-editing mode and loads the history file, if any.
// Callers must Close it to restore the terminal.
func newTerminal(history string, complete liner.WordCompleter, errs io.Writer) *terminal {
	t := &terminal{line: liner.NewLiner(), history: history, errs: errs}
	t.line.SetCtrlCAborts(true)
	t.line.SetTabCompletionStyle(liner.TabPrints)
	t.line.SetWordCompleter(complete)
	if history != "" {
		f, err := os.Open(history)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			fmt.Fprintf(errs, "warning: history not loaded: %s\n", err)
		default:
			_, err := t.line.ReadHistory(f)
			f.Close()
			if err != nil {
				fmt.Fprintf(errs, "warning: history %s: %s\n", history, err)
			}
		}
	}
	return t
}

func (t *terminal) ReadLine(prompt string) (string, error) {
	line, err := t.line.Prompt(prompt)
	if errors.Is(err, liner.ErrPromptAborted) {
		return "", errAborted
	}
	if errors.Is(err, io.EOF) {
		fmt.Println() // leave the prompt's line, as a shell does on Ctrl-D
	}
	return line, err
}

// AddHistory records entry and saves the history file at once, so that a session that is
// killed keeps what it ran.
func (t *terminal) AddHistory(entry string) {
	if strings.TrimSpace(entry) == "" {
		return
	}
	t.line.AppendHistory(entry)
	if t.history == "" {
		return
	}
	if err := t.save(); err != nil {
		fmt.Fprintf(t.errs, "warning: history not saved: %s\n", err)
		t.history = "" // say it once
	}
}

// save writes the history to a temporary file and renames it over the old one, so that a
// crash never leaves half a history.
func (t *terminal) save() error {
	f, err := os.CreateTemp(filepath.Dir(t.history), ".mlprov_history*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := t.line.WriteHistory(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), t.history)
}

func (t *terminal) Interactive() bool { return true }

// Close restores the terminal.
func (t *terminal) Close() error { return t.line.Close() }
