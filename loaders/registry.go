// Package loaders is the registry of mlprov's input formats: one package per format below it.
package loaders

import (
	"fmt"
	"strings"

	"mlprov/engine"
	"mlprov/loaders/native"
)

// All lists every input format, in the order auto-detection tries them.
func All() []engine.Loader {
	return []engine.Loader{
		&native.Loader{},
	}
}

// Formats names every input format.
func Formats() []string {
	var names []string
	for _, l := range All() {
		names = append(names, l.Format())
	}
	return names
}

// Lookup returns the loader for a format name, or the first one that recognises path when
// format is empty or "auto".
func Lookup(format, path string) (engine.Loader, error) {
	for _, l := range All() {
		if format == "" || format == "auto" {
			if l.Detect(path) {
				return l, nil
			}
		} else if l.Format() == format {
			return l, nil
		}
	}
	if format == "" || format == "auto" {
		return nil, fmt.Errorf("%s: format not recognised (known: %s): pass --format", path, strings.Join(Formats(), ", "))
	}
	return nil, fmt.Errorf("unknown format %q (known: %s)", format, strings.Join(Formats(), ", "))
}
