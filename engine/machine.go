package engine

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// defaultMemoryLimit is DuckDB's memory_limit when neither Options nor MLPROV_MEMORY_LIMIT
// sets one: half the memory this process may use (the machine's, or its control group's when
// that is smaller), so that a load on a large machine spills less and one on a small machine
// leaves room for the rest; at least 1GB, and 4GB where the memory cannot be read.
func defaultMemoryLimit() string {
	total := machineMemory()
	if total <= 0 {
		return "4GB"
	}
	mb := total / 2 >> 20
	return fmt.Sprintf("%dMiB", max(mb, 1024))
}

// machineMemory returns the bytes of memory this process may use, from Linux's /proc/meminfo
// and the control group's limit (cgroup v2, then v1), or 0 when none can be read.
func machineMemory() int64 {
	total := memTotal("/proc/meminfo")
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// "max" (v2) or a huge number (v1) means no limit.
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
		break
	}
	return total
}

// memTotal reads MemTotal from a meminfo file, in bytes; 0 when it cannot.
func memTotal(path string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 0
}
