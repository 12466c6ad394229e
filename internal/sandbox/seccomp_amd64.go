package sandbox

import "golang.org/x/sys/unix"

// runnerPolicy is the allow-list on amd64: the shared one, and the older
// calls that amd64 still has and glibc or the loader still make.
func runnerPolicy() policy {
	return commonPolicy(unix.AUDIT_ARCH_X86_64, 0x40000000,
		unix.SYS_OPEN, unix.SYS_STAT, unix.SYS_LSTAT, unix.SYS_ACCESS, unix.SYS_READLINK,
		unix.SYS_DUP2, unix.SYS_POLL, unix.SYS_SELECT, unix.SYS_EPOLL_WAIT, unix.SYS_TIME,
		unix.SYS_ARCH_PRCTL, unix.SYS_GETPGRP,
	)
}
