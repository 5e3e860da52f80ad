// Package loaders is the registry of mlprov's input formats: one package per format below it.
package loaders

import (
	"errors"
	"fmt"
	"strings"

	"mlprov/engine"
	"mlprov/loaders/mlmd"
	"mlprov/loaders/native"
	"mlprov/loaders/openlineage"
)

// All lists every input format, in the order auto-detection tries them: an MLMD store is
// told by its SQLite header (every SQLite file goes to it, to be refused with a reason), the native layout by a folder holding an
// executions table, and an OpenLineage log (a file, or a folder of them) by its first event.
// Native goes before OpenLineage because a native folder may hold .json files too.
func All() []engine.Loader {
	return []engine.Loader{
		&mlmd.Loader{},
		&native.Loader{},
		&openlineage.Loader{},
	}
}

// ErrNotRecognised means no loader recognised the input's format (see Lookup).
var ErrNotRecognised = errors.New("format not recognised")

// Formats names every input format.
func Formats() []string {
	var names []string
	for _, l := range All() {
		names = append(names, l.Format())
	}
	return names
}

// Lookup returns the loader for a format name, or the first one that recognises path when
// format is empty or "auto" (ErrNotRecognised when none does), and the path it reads. A path
// that is neither a folder nor a regular file (a pipe, /dev/stdin) is refused before any
// loader opens it, since opening a pipe can block.
//
// A folder that holds an MLMD store under the name TFX gives it (mlmd.StoreFile, as a TFX
// pipeline root and mlprov gen --format mlmd leave it), and is not a native folder, reads as
// that store: the path returned is the store's, so the folder and the file are one source.
//
// A mysql:// or postgres:// address goes to the MLMD loader of database servers
// (mlmd.Server), whose format is mlmd too; an address of another scheme is refused.
func Lookup(format, path string) (engine.Loader, string, error) {
	if scheme, _, ok := strings.Cut(path, "://"); ok && isScheme(scheme) {
		s := &mlmd.Server{}
		switch {
		case !mlmd.IsServerAddress(path):
			return nil, "", fmt.Errorf("%s: the only database servers mlprov reads are MySQL and MariaDB (mysql://) and PostgreSQL (postgres://), not %s", s.Redact(path), scheme)
		case format != "" && format != "auto" && format != s.Format():
			return nil, "", fmt.Errorf("%s: format %s cannot read a database server: only %s can", s.Redact(path), format, s.Format())
		}
		return s, path, nil
	}
	if err := engine.CheckInput(path); err != nil {
		return nil, "", err
	}
	auto := format == "" || format == "auto"
	store, ok := mlmd.StoreIn(path)
	switch {
	case ok && (format == engine.FormatMLMD || auto && !(&native.Loader{}).Detect(path)):
		path = store
	case format == engine.FormatMLMD && store != "":
		return nil, "", fmt.Errorf("%s: a folder without an MLMD store (%s) in it: name the store's SQLite file", path, mlmd.StoreFile)
	}
	for _, l := range All() {
		if auto {
			if l.Detect(path) {
				return l, path, nil
			}
		} else if l.Format() == format {
			return l, path, nil
		}
	}
	if auto {
		return nil, "", fmt.Errorf("%s: %w (known: %s)", path, ErrNotRecognised, strings.Join(Formats(), ", "))
	}
	return nil, "", fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(Formats(), ", "))
}

// isScheme reports whether s is a URL scheme, as in scheme://: a letter, then letters,
// digits, +, - or ".
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}
