// Package catalog holds the concepts that mlprov's engine, report and shell share, and
// imports no DuckDB: the header every embedded .sql file opens with and its one parser
// (ParseHeader), the canned analyses those headers declare (Analysis, Plot, ParseAnalysis),
// and the loads a store records (Source). The engine reads the embedded files and runs them;
// the report renders what they return; neither defines these types again.
package catalog

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Source is one load recorded in a store's sources table, as manifests record it.
type Source struct {
	ID          int64     `json:"source_id"`
	Kind        string    `json:"kind"`
	URI         string    `json:"uri"`
	Fingerprint string    `json:"fingerprint"`
	LoadedAt    time.Time `json:"loaded_at"`
	Rows        int64     `json:"rows"`
}

// Field is one "-- key: value" line of a .sql file's header.
type Field struct {
	Key, Value string
	// Line is the field's line number in the file, from 1.
	Line int
}

var (
	headerField = regexp.MustCompile(`^--\s*([a-z]+):\s*(.*?)\s*$`)
	objectName  = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// ParseHeader reads the header of the .sql file at file (a path inside the embedded SQL,
// such as "views/graphlets.sql") whose text is text, and returns its fields in order.
//
// The header is the run of blank and "--" lines at the top of the file. A line
// "-- key: value" whose key is a lowercase word is a field; other comment lines are prose and
// are ignored. Every field's key must be one of keys, given once and not empty, so that a
// misspelt field cannot pass unnoticed; every header needs a name, a lowercase identifier
// equal to the file's name without .sql, and a one-line description. Errors name the file
// and, for a field, its line.
func ParseHeader(file string, text []byte, keys ...string) ([]Field, error) {
	fields, err := scanHeader(file, text, keys)
	if err != nil {
		return fields, err
	}
	if err := Require(file, fields, "name", "description"); err != nil {
		return fields, err
	}
	name := Value(fields, "name")
	if want := strings.TrimSuffix(path.Base(file), ".sql"); name != want {
		return fields, fmt.Errorf("%s: the header names it %q; name and file name must agree", file, name)
	}
	return fields, nil
}

// scanHeader reads the fields and checks each on its own.
func scanHeader(file string, text []byte, keys []string) ([]Field, error) {
	var fields []Field
	for i, line := range strings.Split(string(text), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "--") {
			break
		}
		m := headerField.FindStringSubmatch(line)
		if m == nil {
			continue // prose
		}
		key, val := m[1], m[2]
		switch {
		case slices.ContainsFunc(fields, func(f Field) bool { return f.Key == key }):
			return fields, fmt.Errorf("%s:%d: %s is given twice", file, n, key)
		case !slices.Contains(keys, key):
			return fields, fmt.Errorf("%s:%d: unknown header key %q (want %s)", file, n, key, orList(keys))
		case val == "":
			return fields, fmt.Errorf("%s:%d: %s is empty", file, n, key)
		case key == "name" && !objectName.MatchString(val):
			return fields, fmt.Errorf("%s:%d: name %q is not a lowercase identifier", file, n, val)
		}
		fields = append(fields, Field{Key: key, Value: val, Line: n})
	}
	return fields, nil
}

// Require returns an error naming file and the first of keys that fields lack.
func Require(file string, fields []Field, keys ...string) error {
	for _, key := range keys {
		if !slices.ContainsFunc(fields, func(f Field) bool { return f.Key == key }) {
			return fmt.Errorf("%s: the header has no %q line (want -- %s: ...)", file, key, key)
		}
	}
	return nil
}

// Value returns the value of the field called key, or "" when fields have none.
func Value(fields []Field, key string) string {
	for _, f := range fields {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// orList writes words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
