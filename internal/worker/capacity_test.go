package worker

import (
	"testing"
)

func TestCapacityOf(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		name   string
		cpus   float64
		memory uint64
		want   int
	}{
		{"2 cores, plenty of memory", 2, 24 * gib, 24},
		{"1.5 cores of quota", 1.5, 24 * gib, 18},
		{"a quarter core still hosts 3", 0.25, 24 * gib, 3},
		{"memory bounds it", 16, 2 * gib, 32}, // (2048-512)/48
		{"just over the reserve", 8, ReservedMemory + RoomMemory, 1},
		{"less than the reserve hosts 1", 8, 256 << 20, 1},
		{"a tiny quota hosts 1", 0.01, 24 * gib, 1},
	} {
		if got := capacityOf(tc.cpus, tc.memory); got != tc.want {
			t.Errorf("%s: capacityOf(%v, %d) = %d, want %d", tc.name, tc.cpus, tc.memory, got, tc.want)
		}
	}
}

func TestParseCPUMax(t *testing.T) {
	for _, tc := range []struct {
		in      string
		cpus    float64
		ok, bad bool
	}{
		{in: "max 100000\n"},
		{in: "-1 100000"},
		{in: "200000 100000\n", cpus: 2, ok: true},
		{in: "50000 100000", cpus: 0.5, ok: true},
		{in: "", bad: true},
		{in: "max", bad: true},
		{in: "0 100000", bad: true},
		{in: "100000 0", bad: true},
		{in: "lots 100000", bad: true},
	} {
		cpus, ok, err := parseCPUMax(tc.in)
		if (err != nil) != tc.bad || ok != tc.ok || cpus != tc.cpus {
			t.Errorf("parseCPUMax(%q) = %v, %v, %v; want %v, %v, error %v", tc.in, cpus, ok, err, tc.cpus, tc.ok, tc.bad)
		}
	}
}

func TestParseMemoryMax(t *testing.T) {
	for _, tc := range []struct {
		in      string
		limit   uint64
		ok, bad bool
	}{
		{in: "max\n"},
		{in: "9223372036854771712\n"}, // cgroup v1's "no limit"
		{in: "2147483648\n", limit: 2 << 30, ok: true},
		{in: "", bad: true},
		{in: "-5", bad: true},
		{in: "2G", bad: true},
	} {
		limit, ok, err := parseMemoryMax(tc.in)
		if (err != nil) != tc.bad || ok != tc.ok || limit != tc.limit {
			t.Errorf("parseMemoryMax(%q) = %v, %v, %v; want %v, %v, error %v", tc.in, limit, ok, err, tc.limit, tc.ok, tc.bad)
		}
	}
}

func TestParseMemTotal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		bad  bool
	}{
		{in: "MemTotal:       24683748 kB\nMemFree:        22213248 kB\n", want: 24683748 << 10},
		{in: "MemFree:        22213248 kB\nMemTotal: 1024 kB", want: 1 << 20},
		{in: "MemFree:        22213248 kB\n", bad: true},
		{in: "MemTotal: lots kB\n", bad: true},
		{in: "MemTotal: 1024 MB\n", bad: true},
		{in: "MemTotal: 99999999999999999999 kB\n", bad: true},
		{in: "", bad: true},
	} {
		got, err := parseMemTotal(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseMemTotal(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func FuzzParseMachine(f *testing.F) {
	for _, s := range []string{"max 100000", "200000 100000", "9223372036854771712", "MemTotal: 1024 kB\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if cpus, ok, err := parseCPUMax(s); err == nil && ok && cpus <= 0 {
			t.Errorf("parseCPUMax(%q) = %v CPUs", s, cpus)
		}
		_, _, _ = parseMemoryMax(s)
		_, _ = parseMemTotal(s)
	})
}

// TestMachineCapacity reads this machine: whatever it is, it hosts a room.
func TestMachineCapacity(t *testing.T) {
	n, err := MachineCapacity()
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Errorf("MachineCapacity() = %d, want at least 1", n)
	}
	t.Logf("this machine: %d rooms", n)
}

// TestCapacityFromMachine: a worker set to capacity 0 offers the
// coordinator as many places as its machine holds.
func TestCapacityFromMachine(t *testing.T) {
	want, err := MachineCapacity()
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, 0)
	hello := c.browse(t).WaitGames()
	if len(hello.Workers) != 1 || hello.Workers[0].Capacity != want {
		t.Errorf("hello tells %+v, want one worker of capacity %d", hello.Workers, want)
	}
}
