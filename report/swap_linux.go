package report

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// swap puts the folder at tmp in dir's place in one atomic exchange and returns where the
// previous folder now is. Where the file system cannot exchange, it falls back to two
// renames, between which dir is briefly missing.
func swap(tmp, dir string) (string, error) {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_EXCHANGE)
	if err == nil {
		return tmp, nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EINVAL) {
		return "", &os.LinkError{Op: "exchange", Old: tmp, New: dir, Err: err}
	}
	return swapByRenames(tmp, dir)
}
