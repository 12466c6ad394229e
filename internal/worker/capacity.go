package worker

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// What a room costs the machine, measured with NES games at 60 fps
// (BenchmarkDensity in internal/e2e, BENCHMARKS.md): a worker's default
// capacity is as many rooms as its CPUs and its memory both hold.
const (
	// RoomsPerCore is how many rooms one core runs at full rate, with
	// room to spare for the rooms' viewers and a heavier core than NES's.
	RoomsPerCore = 12
	// RoomMemory is what a room may take: its runner and its share of the
	// worker, with room for a bigger core than NES's.
	RoomMemory = 48 << 20
	// ReservedMemory is kept for the worker itself and the system.
	ReservedMemory = 512 << 20
)

// ErrNoMachine is returned when the machine's CPUs or memory cannot be
// read; set capacity by hand then.
var ErrNoMachine = errors.New("worker: cannot tell the machine's size")

// MachineCapacity is the default capacity: RoomsPerCore rooms for each of
// the CPUs this process may use (the cgroup's quota when it has one, else
// every CPU), no more than the memory it may use (the cgroup's limit, else
// the machine's) holds at RoomMemory each after ReservedMemory, and at
// least 1.
func MachineCapacity() (int, error) {
	cpus := float64(runtime.NumCPU())
	if quota, ok := cgroupCPUs(); ok {
		cpus = min(cpus, quota)
	}
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoMachine, err)
	}
	memory, err := parseMemTotal(string(meminfo))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoMachine, err)
	}
	if limit, ok := cgroupMemory(); ok {
		memory = min(memory, limit)
	}
	return capacityOf(cpus, memory), nil
}

// capacityOf is the arithmetic of MachineCapacity.
func capacityOf(cpus float64, memory uint64) int {
	byCPU := int(math.Floor(cpus * RoomsPerCore))
	byMemory := 0
	if memory > ReservedMemory {
		byMemory = int((memory - ReservedMemory) / RoomMemory)
	}
	return max(1, min(byCPU, byMemory))
}

// cgroupCPUs is the CPU quota of this process's cgroup in CPUs, from
// cgroup v2's cpu.max or v1's cpu.cfs_quota_us; false when there is none
// or it cannot be read.
func cgroupCPUs() (float64, bool) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cpu.max"); err == nil {
		cpus, ok, err := parseCPUMax(string(b))
		return cpus, ok && err == nil
	}
	quota, err1 := os.ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
	period, err2 := os.ReadFile("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
	if err1 != nil || err2 != nil {
		return 0, false
	}
	cpus, ok, err := parseCPUMax(strings.TrimSpace(string(quota)) + " " + strings.TrimSpace(string(period)))
	return cpus, ok && err == nil
}

// cgroupMemory is the memory limit of this process's cgroup, from cgroup
// v2's memory.max or v1's memory.limit_in_bytes; false when there is none.
func cgroupMemory() (uint64, bool) {
	for _, name := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(name); err == nil {
			limit, ok, err := parseMemoryMax(string(b))
			return limit, ok && err == nil
		}
	}
	return 0, false
}

// parseCPUMax reads cgroup v2's cpu.max, "QUOTA PERIOD" in microseconds
// where QUOTA "max" (or v1's -1) is no quota: the CPUs the quota allows,
// and whether there is one.
func parseCPUMax(s string) (float64, bool, error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return 0, false, fmt.Errorf("worker: cpu.max %q: want QUOTA PERIOD", s)
	}
	if fields[0] == "max" || fields[0] == "-1" {
		return 0, false, nil
	}
	quota, err1 := strconv.ParseUint(fields[0], 10, 64)
	period, err2 := strconv.ParseUint(fields[1], 10, 64)
	if err1 != nil || err2 != nil || quota == 0 || period == 0 {
		return 0, false, fmt.Errorf("worker: cpu.max %q: want two positive whole numbers", s)
	}
	return float64(quota) / float64(period), true, nil
}

// parseMemoryMax reads cgroup v2's memory.max ("max" or bytes) or v1's
// memory.limit_in_bytes (bytes, a huge number for none): the limit and
// whether there is one.
func parseMemoryMax(s string) (uint64, bool, error) {
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0, false, nil
	}
	limit, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("worker: memory limit %q: %w", s, err)
	}
	// cgroup v1 says "no limit" with the largest page-aligned int64.
	if limit >= math.MaxInt64&^(1<<12-1) {
		return 0, false, nil
	}
	return limit, true, nil
}

// parseMemTotal reads MemTotal from /proc/meminfo, in bytes.
func parseMemTotal(meminfo string) (uint64, error) {
	for line := range strings.Lines(meminfo) {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("worker: /proc/meminfo: MemTotal %q: want a number of kB", strings.TrimSpace(rest))
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil || kb > math.MaxUint64>>10 {
			return 0, fmt.Errorf("worker: /proc/meminfo: MemTotal %q: want a number of kB", strings.TrimSpace(rest))
		}
		return kb << 10, nil
	}
	return 0, errors.New("worker: /proc/meminfo has no MemTotal")
}
