package worker

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// cpuMeter tells how busy the machine was between two reads, from the
// kernel's counters of time spent by all CPUs (/proc/stat).
type cpuMeter struct {
	busy, total uint64
}

// read returns the share of CPU time spent working since the last read,
// 0 to 1; the first read covers the time since boot.
func (m *cpuMeter) read() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	fields := bytes.Fields(line)
	if len(fields) < 5 || string(fields[0]) != "cpu" {
		return 0, fmt.Errorf("worker: /proc/stat begins %q", line)
	}
	var busy, total uint64
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("worker: /proc/stat: %w", err)
		}
		total += v
		if i != 3 && i != 4 { // idle and iowait are not work
			busy += v
		}
	}
	prevBusy, prevTotal := m.busy, m.total
	m.busy, m.total = busy, total
	if total <= prevTotal || busy < prevBusy { // no time passed, or counters reset
		return 0, nil
	}
	return min(1, float64(busy-prevBusy)/float64(total-prevTotal)), nil
}
