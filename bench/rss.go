package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// ResetPeakRSS starts the process's peak resident set size (VmHWM) again from what it holds
// now, so that PeakRSS measures one case; it does nothing where Linux's /proc is not there.
func ResetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // no /proc: PeakRSS reports 0
}

// PeakRSS returns the process's peak resident set size in bytes since ResetPeakRSS (Go's
// heap and DuckDB's memory alike), or 0 where the system does not tell it.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
