package worker

import (
	"testing"
	"time"
)

// TestCPUMeter reads the machine's load while this test keeps one core
// busy: it is a share, and not nothing.
func TestCPUMeter(t *testing.T) {
	var m cpuMeter
	if _, err := m.read(); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
	}
	load, err := m.read()
	if err != nil {
		t.Fatal(err)
	}
	if load <= 0 || load > 1 {
		t.Fatalf("load %v while a core spun, want a share above 0", load)
	}
}
