package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// The filter's answers. A call off the list fails with EPERM, which the
// Go runtime, glibc and the cores handle as any refusal, and which a test
// can see. clone3 fails with ENOSYS instead: glibc then falls back to
// clone, whose flags (unlike clone3's, behind a pointer) a filter can
// read. A call of another architecture's numbering (the x32 ABI, or a
// 32-bit call on amd64) kills the process: the numbers on the list mean
// other calls there, so no answer but death is safe, and no code of ours
// makes such calls.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retEPERM  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
)

// Offsets in struct seccomp_data: the call's number, its architecture,
// and its six arguments of 64 bits, whose lower half comes first on the
// little-endian machines this package knows.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

func argLow(i int) uint32  { return offArgs + 8*uint32(i) }
func argHigh(i int) uint32 { return offArgs + 8*uint32(i) + 4 }

// Flags of clone that make a new namespace: never for a thread.
const cloneNewNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// conditional counts the calls a policy allows for some arguments only.
const conditional = 7

// policy is what a runner may call, in this architecture's numbers.
type policy struct {
	arch uint32
	// x32 is the bit of amd64's x32 numbering, 0 elsewhere.
	x32 uint32
	// allow are the calls allowed whatever their arguments.
	allow []uintptr
	// Calls allowed for some arguments only, and the values allowed.
	clone, clone3, socket, kill, tgkill, prlimit, ioctl, prctl uintptr
	ioctls, prctls                                             []uint32
}

// filter is the seccomp program for pid: it may signal itself and no one
// else.
func filter(p policy, pid int) ([]bpf.Instruction, error) {
	if p.arch == 0 {
		return nil, errors.New("no list of system calls for this architecture")
	}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: p.arch, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if p.x32 != 0 {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: p.x32, SkipFalse: 1},
			bpf.RetConstant{Val: retKill},
		)
	}
	// Each call is tried in turn, and each test is followed by its
	// verdict, so that no jump is longer than one block: a classic BPF
	// jump reaches at most 255 instructions.
	for _, nr := range p.allow {
		prog = append(prog,
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: 1},
			bpf.RetConstant{Val: retAllow},
		)
	}
	block := func(nr uintptr, body ...bpf.Instruction) {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(nr), SkipFalse: uint8(len(body))})
		prog = append(prog, body...)
	}
	// Threads, never processes: CLONE_THREAD, and no new namespace.
	block(p.clone,
		bpf.LoadAbsolute{Off: argLow(0), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: unix.CLONE_THREAD, SkipFalse: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: cloneNewNamespaces, SkipTrue: 1},
		bpf.RetConstant{Val: retAllow},
		bpf.RetConstant{Val: retEPERM},
	)
	block(p.clone3, bpf.RetConstant{Val: retENOSYS})
	// Only Unix sockets (glibc may try one to ask nscd; nothing can be
	// connected to, with connect refused).
	block(p.socket,
		bpf.LoadAbsolute{Off: argLow(0), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.AF_UNIX, SkipFalse: 1},
		bpf.RetConstant{Val: retAllow},
		bpf.RetConstant{Val: retEPERM},
	)
	// Signals to itself only (the Go runtime preempts its threads with
	// tgkill, and a crash raises with kill): the kernel reads a pid as
	// 32 bits, so only the lower half is compared. Not kill(0) nor
	// kill(-1), which reach a group or everyone.
	for _, nr := range []uintptr{p.kill, p.tgkill} {
		block(nr,
			bpf.LoadAbsolute{Off: argLow(0), Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(pid), SkipFalse: 1},
			bpf.RetConstant{Val: retAllow},
			bpf.RetConstant{Val: retEPERM},
		)
	}
	// Reading its own limits (glibc's getrlimit); never setting one.
	block(p.prlimit,
		bpf.LoadAbsolute{Off: argLow(2), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 6},
		bpf.LoadAbsolute{Off: argHigh(2), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipFalse: 4},
		bpf.LoadAbsolute{Off: argLow(0), Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(pid), SkipFalse: 1},
		bpf.RetConstant{Val: retAllow},
		bpf.RetConstant{Val: retEPERM},
	)
	// ioctl and prctl: the harmless requests libraries make, by number.
	block(p.ioctl, oneOf(argLow(1), p.ioctls)...)
	block(p.prctl, oneOf(argLow(0), p.prctls)...)
	prog = append(prog, bpf.RetConstant{Val: retEPERM})
	return prog, nil
}

// oneOf allows a call whose 32-bit argument at off is one of values.
func oneOf(off uint32, values []uint32) []bpf.Instruction {
	body := []bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: 4}}
	for i, v := range values {
		// To the allow after the last test: over the tests that follow.
		body = append(body, bpf.JumpIf{Cond: bpf.JumpEqual, Val: v, SkipTrue: uint8(len(values) - 1 - i + 1)})
	}
	return append(body, bpf.RetConstant{Val: retEPERM}, bpf.RetConstant{Val: retAllow})
}

// installSeccomp puts the filter on the calling thread, and with
// SECCOMP_FILTER_FLAG_TSYNC on every thread of the process; the filtered
// can only add filters, never remove one.
func installSeccomp(p policy, flags uintptr) Status {
	s := Status{Layer: Seccomp}
	prog, err := filter(p, unix.Getpid())
	if err != nil {
		s.Detail = err.Error()
		return s
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		s.Detail = fmt.Sprintf("assemble the filter: %v", err)
		return s
	}
	fprog := unix.SockFprog{Len: uint16(len(raw)), Filter: (*unix.SockFilter)(unsafe.Pointer(&raw[0]))}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&fprog)))
	switch {
	case errno == unix.EACCES:
		s.Detail = "refused: without no_new_privs, seccomp needs CAP_SYS_ADMIN"
	case errno != 0:
		s.Detail = fmt.Sprintf("refused: %v", errno)
	case r != 0:
		s.Detail = fmt.Sprintf("thread %d could not take the filter", r)
	default:
		s.On = true
		s.Detail = fmt.Sprintf("%d system calls allowed, %d of them for some arguments only; every other refused (EPERM): no socket but AF_UNIX, no new process, no exec, no signal but to itself", len(p.allow)+conditional, conditional)
	}
	return s
}
