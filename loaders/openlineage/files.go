package openlineage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"mlprov/engine"
)

var extensions = map[string]bool{".json": true, ".jsonl": true, ".ndjson": true}

// files lists the event files of path: the file itself, or a folder's .json, .jsonl and
// .ndjson files in name order. Anything but a regular file (a pipe, /dev/stdin) is refused:
// the log is read twice, once for its fingerprint and once for its events.
func files(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if err := engine.CheckRegular(path, fi); err != nil {
			return nil, err
		}
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() || !extensions[strings.ToLower(filepath.Ext(e.Name()))] {
			continue
		}
		p := filepath.Join(path, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			continue
		}
		if err := engine.CheckRegular(p, fi); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// Detect implements engine.Loader: a file, or a folder of files, that starts with an
// OpenLineage event (an object with an eventTime and a run, job or dataset).
func (*Loader) Detect(path string) bool {
	fs, err := files(path)
	if err != nil || len(fs) == 0 {
		return false
	}
	for _, f := range fs {
		if !looksLikeEvent(f) {
			return false
		}
	}
	return true
}

var eventKey = regexp.MustCompile(`"(run|job|dataset)"\s*:`)

// looksLikeEvent reads the start of a file: a JSON object (or an array of them) that names
// an eventTime and a run, job or dataset within its first few kilobytes.
func looksLikeEvent(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 16<<10)
	n, _ := io.ReadFull(f, head)
	head = bytes.TrimLeft(bytes.TrimPrefix(head[:n], []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 0 && head[0] == '[' {
		head = bytes.TrimLeft(head[1:], " \t\r\n")
	}
	return len(head) > 0 && head[0] == '{' && bytes.Contains(head, []byte(`"eventTime"`)) && eventKey.Match(head)
}

// Fingerprint implements engine.Loader: a SHA-256 over the files' names and contents.
func (*Loader) Fingerprint(ctx context.Context, path string) (string, error) {
	fs, err := files(path)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range fs {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", filepath.Base(f))
		r, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
