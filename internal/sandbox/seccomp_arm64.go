package sandbox

import "golang.org/x/sys/unix"

// runnerPolicy is the allow-list on arm64: the shared one, which is the
// whole of it, arm64 having none of amd64's older calls.
func runnerPolicy() policy {
	return commonPolicy(unix.AUDIT_ARCH_AARCH64, 0)
}
