//go:build !linux

package report

// swap puts the folder at tmp in dir's place and returns where the previous folder now is:
// two renames, between which dir is briefly missing.
func swap(tmp, dir string) (string, error) {
	return swapByRenames(tmp, dir)
}
