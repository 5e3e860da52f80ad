package bench

import (
	"runtime"
	"testing"
)

func TestPeakRSS(t *testing.T) {
	if PeakRSS() == 0 {
		t.Skip("the system does not report the peak resident set size (no /proc/self/status)")
	}
	ResetPeakRSS()
	before := PeakRSS()
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = 1 // touch every page, so that it is resident
	}
	got := PeakRSS()
	runtime.KeepAlive(buf)
	if got-before < 60<<20 {
		t.Errorf("peak RSS grew by %d bytes after touching 64 MiB, want at least 60 MiB", got-before)
	}
	ms := metrics(Outcome{Rows: 10, PeakRSS: got}, 1, "rows")
	if last := ms[len(ms)-1]; last.Unit != "peak-RSS-MB" || last.Value != float64(got)/1e6 {
		t.Errorf("metrics = %v, want the peak RSS last in peak-RSS-MB", ms)
	}
}
