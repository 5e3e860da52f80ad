package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// target is the output folder as Write found it before building the report.
type target struct {
	dir    string
	exists bool
	// owned are the files the previous report's manifest.json lists, manifest.json included:
	// the only files Write may remove.
	owned map[string]bool
}

// inspect checks that dir is new, empty, or holds a report mlprov wrote, and reads which of
// its files that report wrote. A folder that holds files and no manifest.json, or a
// manifest.json mlprov did not write, is refused with ErrNotReportFolder and left as it is.
func inspect(dir string) (*target, error) {
	t := &target{dir: dir, owned: map[string]bool{}}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return t, nil
	case err != nil:
		return nil, err
	}
	t.exists = true
	if len(entries) == 0 {
		return t, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w: choose a new or empty folder", dir, ErrNotReportFolder)
	}
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Version == "" || len(m.Files) == 0 {
		return nil, fmt.Errorf("%s: %w: its manifest.json was not written by mlprov, so mlprov leaves the folder as it is; choose a new or empty folder", dir, ErrNotReportFolder)
	}
	for name := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, fmt.Errorf("%s: %w: its manifest.json lists %q, outside the folder", dir, ErrNotReportFolder, name)
		}
		t.owned[name] = true
	}
	t.owned["manifest.json"] = true
	return t, nil
}

// install writes files into a new folder beside t.dir and puts that folder in t.dir's place
// whole, so that a run killed or failing before then leaves the previous report as it was,
// complete. Files of the previous folder that its manifest does not list (a reader's notes)
// are carried into the new one; of the previous report, only the files its manifest lists are
// removed. before is called just before the swap.
func (t *target) install(ctx context.Context, files map[string][]byte, before func()) (err error) {
	abs, err := filepath.Abs(t.dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".mlprov-")
	if err != nil {
		return fmt.Errorf("make a folder beside %s: %w", t.dir, err)
	}
	swapped := false
	defer func() {
		if !swapped {
			os.RemoveAll(tmp) // only ever holds what this run wrote
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	if t.exists {
		if err := t.carry(tmp, files); err != nil {
			return err
		}
	}
	if before != nil {
		before()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !t.exists {
		if err := os.Rename(tmp, abs); err != nil {
			return fmt.Errorf("move the report into %s: %w", t.dir, err)
		}
		swapped = true
		return nil
	}
	old, err := swap(tmp, abs)
	if err != nil {
		return fmt.Errorf("move the report into %s: %w", t.dir, err)
	}
	swapped = true
	return t.removeOld(old)
}

// carry links into the new folder every file of the previous one that its report did not
// write, so that the swap keeps them; a hard link, so that they are never anywhere but in the
// folder. It refuses when such a file has the name of a file of the new report.
func (t *target) carry(tmp string, files map[string][]byte) error {
	return filepath.WalkDir(t.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(t.dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		dst := filepath.Join(tmp, rel)
		if d.IsDir() {
			if _, ok := files[name]; ok {
				return fmt.Errorf("%s: the report would write %s, a folder mlprov did not make; move it away or choose another folder", t.dir, name)
			}
			return os.MkdirAll(dst, 0o755)
		}
		if t.owned[name] {
			return nil
		}
		if _, ok := files[name]; ok {
			return fmt.Errorf("%s: the report would overwrite %s, which mlprov did not write; move it away or choose another folder", t.dir, name)
		}
		if err := os.Link(p, dst); err != nil {
			return fmt.Errorf("keep %s in the new report: %w", p, err)
		}
		return nil
	})
}

// removeOld removes, from the previous folder now at old, the files its report wrote and the
// links carry made, then the folders left empty. Anything else stays where it is.
func (t *target) removeOld(old string) error {
	var dirs []string
	err := filepath.WalkDir(old, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		rel, err := filepath.Rel(old, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		carried := false
		if !t.owned[name] {
			// Only a file carry linked into the new report goes; its content lives on there.
			a, errA := os.Lstat(p)
			b, errB := os.Lstat(filepath.Join(t.dir, rel))
			carried = errA == nil && errB == nil && os.SameFile(a, b)
		}
		if t.owned[name] || carried {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove the previous report: %w", err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Remove(dirs[i]) // fails, as it should, on a folder something else still holds
	}
	return nil
}

// swapByRenames moves dir aside, beside tmp, and tmp into its place.
func swapByRenames(tmp, dir string) (string, error) {
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if back := os.Rename(old, dir); back != nil {
			return "", fmt.Errorf("%w (the previous report is at %s)", err, old)
		}
		return "", err
	}
	return old, nil
}
