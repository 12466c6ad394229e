package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// resumeEnv marks the program Enter executes, and tells it where the
// carried data is and how the layers fared.
const resumeEnv = "TELECART_SANDBOX_RESUME"

// self is how the program executes itself: the file it was started
// from, even when a newer one has replaced it on disk since.
const self = "/proc/self/exe"

type resumeState struct {
	FD     int    `json:"fd"`
	Report Report `json:"report"`
	Off    Layers `json:"off"`
}

// Enter confines this process as spec says and executes this program
// again, with the same arguments, under the confinement. The new program
// must call Resume before it does anything else, and Resume gives it
// carry: whatever this process read that the new one needs (a runner's
// first message).
//
// The rlimits apply to the whole process; no_new_privs and Landlock to
// the calling thread, which is the one that executes the program again.
// Layers the kernel refuses are left out and reported by Resume; the
// network layer is the parent's (Isolate), and Enter only reports it.
//
// Enter returns only when it could not execute the program; the calling
// thread may then be confined, and the caller should exit.
func Enter(spec Spec, carry []byte) error {
	memory := spec.Memory
	if memory == 0 {
		memory = DefaultMemory
	}
	interp, err := interpreter(self)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	// Written before the file size limit, which holds for memory files
	// too.
	fd, err := unix.MemfdCreate("telecart-sandbox-carry", unix.MFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("sandbox: carry: %w", err)
	}
	carried := os.NewFile(uintptr(fd), "carry")
	defer carried.Close()
	if _, err := carried.Write(carry); err != nil {
		return fmt.Errorf("sandbox: carry: %w", err)
	}
	if _, err := carried.Seek(0, 0); err != nil {
		return fmt.Errorf("sandbox: carry: %w", err)
	}

	// From here on, this thread is the one that executes the program,
	// and no other goroutine may run on it.
	runtime.LockOSThread()

	on := func(l Layers) bool { return spec.Off&l == 0 }
	var report Report
	network, ownUserNS := networkStatus(!on(Network))
	report.set(network)
	if on(Rlimits) {
		report.set(setLimits(memory, ownUserNS))
	} else {
		report.set(Status{Layer: Rlimits, Detail: turnedOff})
	}
	if on(NoNewPrivs) {
		s := Status{Layer: NoNewPrivs}
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			s.Detail = fmt.Sprintf("refused: %v", err)
		} else {
			s.On, s.Detail = true, "no exec gains privileges"
		}
		report.set(s)
	} else {
		report.set(Status{Layer: NoNewPrivs, Detail: turnedOff})
	}
	if on(Filesystem) {
		exec := []string{self}
		if interp != "" {
			exec = append(exec, interp)
		}
		report.set(landlock(append(systemPaths(), spec.Read...), exec))
	} else {
		report.set(Status{Layer: Filesystem, Detail: turnedOff})
	}

	state, err := json.Marshal(resumeState{FD: fd, Report: report, Off: spec.Off})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	env := []string{resumeEnv + "=" + string(state)}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, resumeEnv+"=") {
			env = append(env, kv)
		}
	}
	// The memory file stays open through exec, and only through this one.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		return fmt.Errorf("sandbox: carry: %w", err)
	}
	err = syscall.Exec(self, os.Args, env)
	return fmt.Errorf("sandbox: execute %s again: %w (%s)", self, err, report)
}

// Resume, in a program Enter executed, puts the seccomp filter on every
// thread, and returns what Enter carried and how every layer fared. In
// any other program it returns ok false and does nothing. It must come
// before the program reads anything untrusted.
func Resume() (carry *os.File, report Report, ok bool, err error) {
	v, found := os.LookupEnv(resumeEnv)
	if !found {
		return nil, nil, false, nil
	}
	os.Unsetenv(resumeEnv)
	var state resumeState
	if err := json.Unmarshal([]byte(v), &state); err != nil {
		return nil, nil, true, fmt.Errorf("sandbox: %s: %w", resumeEnv, err)
	}
	if state.FD < 3 {
		return nil, nil, true, errors.New("sandbox: " + resumeEnv + ": no carried file " + strconv.Itoa(state.FD))
	}
	unix.CloseOnExec(state.FD)
	carry = os.NewFile(uintptr(state.FD), "carry")
	report = state.Report
	if state.Off&Seccomp == 0 {
		report.set(installSeccomp(runnerPolicy(), unix.SECCOMP_FILTER_FLAG_TSYNC))
	} else {
		report.set(Status{Layer: Seccomp, Detail: turnedOff})
	}
	return carry, report, true, nil
}
