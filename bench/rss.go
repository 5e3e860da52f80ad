package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
)

// resetPeakRSS starts the process's peak resident set size (VmHWM) again from what it holds
// now, so that peakRSS measures one case; it does nothing where Linux's /proc is not there.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // no /proc: peakRSS reports 0
}

// peakRSS returns the process's peak resident set size in bytes since resetPeakRSS (Go's
// heap and DuckDB's memory alike), or 0 where the system does not tell it.
func peakRSS() int64 {
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
