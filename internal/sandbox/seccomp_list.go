//go:build amd64 || arm64

package sandbox

import "golang.org/x/sys/unix"

// allowCommon are the system calls a runner makes on both amd64 and
// arm64, whatever their arguments: the Go runtime's (threads, memory,
// timers, signals, its poller), the dynamic loader's and glibc's, the
// cores' and the codecs' (memory and time), reading files (which Landlock
// bounds) and its socket to the parent. Missing on purpose, and so
// refused: anything that makes a process, a file, a link, a socket other
// than AF_UNIX, a connection, a namespace, a mount, a key, a BPF program,
// an io_uring; that changes an owner, a mode, a limit, an id, a time or
// the scheduler; that traces or reads another process.
func allowCommon() []uintptr {
	return []uintptr{
		// Reading and writing what is open, and reading files.
		unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV,
		unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_PREADV, unix.SYS_PWRITEV,
		unix.SYS_LSEEK, unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE,
		unix.SYS_OPENAT, unix.SYS_FSTAT, unix.SYS_NEWFSTATAT, unix.SYS_STATX,
		unix.SYS_FSTATFS, unix.SYS_STATFS, unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2,
		unix.SYS_READLINKAT, unix.SYS_GETDENTS64, unix.SYS_GETCWD,
		unix.SYS_FCNTL, unix.SYS_DUP, unix.SYS_DUP3, unix.SYS_FADVISE64,
		// The socket to the parent, as Go's net package takes it over.
		unix.SYS_GETSOCKOPT, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_SHUTDOWN,
		// The Go runtime's poller and its wake-ups.
		unix.SYS_EPOLL_CREATE1, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2,
		unix.SYS_EVENTFD2, unix.SYS_PIPE2, unix.SYS_PPOLL, unix.SYS_PSELECT6,
		// Memory.
		unix.SYS_BRK, unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MREMAP, unix.SYS_MPROTECT,
		unix.SYS_MADVISE, unix.SYS_MINCORE, unix.SYS_MSYNC, unix.SYS_MEMBARRIER,
		// Threads and their synchronisation.
		unix.SYS_FUTEX, unix.SYS_FUTEX_WAITV, unix.SYS_SET_ROBUST_LIST, unix.SYS_GET_ROBUST_LIST,
		unix.SYS_RSEQ, unix.SYS_SET_TID_ADDRESS, unix.SYS_SCHED_YIELD, unix.SYS_SCHED_GETAFFINITY,
		unix.SYS_SCHED_GETPARAM, unix.SYS_SCHED_GETSCHEDULER, unix.SYS_GETCPU,
		unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_RESTART_SYSCALL,
		// Time and timers.
		unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME, unix.SYS_CLOCK_GETRES,
		unix.SYS_GETTIMEOFDAY, unix.SYS_TIMER_CREATE, unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_GETTIME,
		unix.SYS_TIMER_DELETE, unix.SYS_SETITIMER, unix.SYS_GETITIMER,
		// Signals (sent only to itself: kill and tgkill are checked).
		unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK,
		unix.SYS_RT_SIGPENDING, unix.SYS_RT_SIGSUSPEND, unix.SYS_RT_SIGTIMEDWAIT,
		// Who and where it is.
		unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_GETPPID, unix.SYS_GETUID, unix.SYS_GETEUID,
		unix.SYS_GETGID, unix.SYS_GETEGID, unix.SYS_GETRESUID, unix.SYS_GETRESGID, unix.SYS_GETGROUPS,
		unix.SYS_GETPGID, unix.SYS_GETSID, unix.SYS_GETRUSAGE, unix.SYS_TIMES, unix.SYS_SYSINFO,
		unix.SYS_UNAME, unix.SYS_GETRANDOM, unix.SYS_GETRLIMIT,
	}
}

// Requests of ioctl a library may make of a terminal or a descriptor:
// TCGETS (isatty), TIOCGWINSZ, FIONREAD, FIONBIO, FIONCLEX and FIOCLEX.
// Every other, the ones of devices and of sockets among them, is refused.
func allowedIoctls() []uint32 {
	return []uint32{unix.TCGETS, unix.TIOCGWINSZ, 0x541B, 0x5421, 0x5450, 0x5451}
}

// Options of prctl the runtime and libraries use: naming a thread, and
// naming memory (Go names its own); reading its own no_new_privs and
// seccomp mode.
func allowedPrctls() []uint32 {
	return []uint32{unix.PR_SET_NAME, unix.PR_GET_NAME, unix.PR_SET_VMA, unix.PR_GET_NO_NEW_PRIVS, unix.PR_GET_SECCOMP}
}

// commonPolicy is a policy of the calls amd64 and arm64 share, by number.
func commonPolicy(arch uint32, x32 uint32, extra ...uintptr) policy {
	return policy{
		arch:    arch,
		x32:     x32,
		allow:   append(allowCommon(), extra...),
		clone:   unix.SYS_CLONE,
		clone3:  unix.SYS_CLONE3,
		socket:  unix.SYS_SOCKET,
		kill:    unix.SYS_KILL,
		tgkill:  unix.SYS_TGKILL,
		prlimit: unix.SYS_PRLIMIT64,
		ioctl:   unix.SYS_IOCTL,
		prctl:   unix.SYS_PRCTL,
		ioctls:  allowedIoctls(),
		prctls:  allowedPrctls(),
	}
}
