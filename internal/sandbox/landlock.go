package sandbox

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// systemPaths are read by every runner: the dynamic loader's cache, the
// shared libraries of the program and of the cores (/lib and /lib64 are
// links into /usr on merged systems, and folders of their own on others),
// and the list of processors online, by which glibc counts them.
func systemPaths() []string {
	return []string{"/etc/ld.so.cache", "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/sys/devices/system/cpu/online"}
}

// Landlock's file access rights, by the ABI version that brought them.
const (
	fsRightsV1 = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR |
		unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR |
		unix.LANDLOCK_ACCESS_FS_MAKE_REG | unix.LANDLOCK_ACCESS_FS_MAKE_SOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM
	fsRightsV2 = fsRightsV1 | unix.LANDLOCK_ACCESS_FS_REFER
	fsRightsV3 = fsRightsV2 | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	fsRightsV5 = fsRightsV3 | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV

	// The rights granted: reading, and for the program and its loader
	// executing, which is how Enter starts the confined program.
	readRights = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	fileRights = unix.LANDLOCK_ACCESS_FS_READ_FILE
	execRights = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_EXECUTE
)

// rulesetAttr is struct landlock_ruleset_attr up to ABI 6; the kernel
// takes the part an older ABI knows when given its size.
type rulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

// pathBeneathAttr is struct landlock_path_beneath_attr, which is packed:
// 12 bytes, whatever Go pads it to.
type pathBeneathAttr struct {
	allowed  uint64
	parentFD int32
}

// LandlockABI is the kernel's Landlock ABI version, or why it has none:
// which file, network and scope rights the filesystem layer can handle.
func LandlockABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		switch errno {
		case unix.ENOSYS:
			return 0, errors.New("the kernel has no Landlock (before 5.13, or built without it)")
		case unix.EOPNOTSUPP:
			return 0, errors.New("the kernel has Landlock turned off (lsm= on its command line)")
		}
		return 0, fmt.Errorf("the kernel refuses Landlock: %w", errno)
	}
	return int(v), nil
}

// landlock restricts the calling thread, and the threads and programs it
// starts from now on, to reading read (and executing exec), as far as
// the kernel's ABI allows. It handles every right the kernel knows, so
// that whatever is not granted is refused.
func landlock(read, exec []string) Status {
	s := Status{Layer: Filesystem}
	abi, err := LandlockABI()
	if err != nil {
		s.Detail = err.Error()
		return s
	}
	attr := rulesetAttr{handledFS: fsRightsV1}
	size := unsafe.Sizeof(attr.handledFS)
	var extras []string
	if abi >= 2 {
		attr.handledFS = fsRightsV2
	}
	if abi >= 3 {
		attr.handledFS = fsRightsV3
	}
	if abi >= 4 {
		// Handled and never granted: no TCP at all.
		attr.handledNet = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
		size = unsafe.Offsetof(attr.scoped)
		extras = append(extras, "no TCP")
	}
	if abi >= 5 {
		attr.handledFS = fsRightsV5
	}
	if abi >= 6 {
		// No signal to a process outside the sandbox (the worker, another
		// runner), no abstract Unix socket of one.
		attr.scoped = unix.LANDLOCK_SCOPE_SIGNAL | unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
		size = unsafe.Sizeof(attr)
		extras = append(extras, "no signal or abstract socket outside")
	}
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		s.Detail = fmt.Sprintf("Landlock ABI %d: create ruleset: %v", abi, errno)
		return s
	}
	ruleset := int(fd)
	defer unix.Close(ruleset)

	var granted, executable []string
	add := func(path string, exec bool) error {
		f, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil // nothing to read there
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		defer unix.Close(f)
		var st unix.Stat_t
		if err := unix.Fstat(f, &st); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rule := pathBeneathAttr{allowed: fileRights, parentFD: int32(f)}
		switch {
		case exec:
			rule.allowed = execRights
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			rule.allowed = readRights
		}
		if _, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&rule)), 0, 0, 0); errno != 0 {
			return fmt.Errorf("%s: %w", path, errno)
		}
		if exec {
			// The report names the program, not /proc/self/exe.
			executable = append(executable, resolve(path))
		} else {
			granted = append(granted, path)
		}
		return nil
	}
	for _, p := range read {
		if err := add(p, false); err != nil {
			s.Detail = fmt.Sprintf("Landlock ABI %d: allow reading %v", abi, err)
			return s
		}
	}
	for _, p := range exec {
		if err := add(p, true); err != nil {
			s.Detail = fmt.Sprintf("Landlock ABI %d: allow executing %v", abi, err)
			return s
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(ruleset), 0, 0); errno != 0 {
		s.Detail = fmt.Sprintf("Landlock ABI %d: restrict: %v", abi, errno)
		if errno == unix.EPERM {
			s.Detail += " (without no_new_privs, it needs CAP_SYS_ADMIN)"
		}
		return s
	}
	s.On = true
	s.Detail = fmt.Sprintf("Landlock ABI %d: reads only %s", abi, strings.Join(append(granted, executable...), ", "))
	if len(executable) > 0 {
		s.Detail += "; executes only " + strings.Join(executable, ", ")
	}
	s.Detail += "; writes nothing"
	if len(extras) > 0 {
		s.Detail += "; " + strings.Join(extras, "; ")
	}
	return s
}

// resolve is where a path leads, links followed, for the report; the
// path itself when that cannot be told.
func resolve(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}

// interpreter is the ELF interpreter (the dynamic loader) the program at
// path names, which the kernel opens to execute it; "" for a static one.
func interpreter(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return "", fmt.Errorf("%s: interpreter: %w", path, err)
		}
		return strings.TrimRight(string(b), "\x00"), nil
	}
	return "", nil
}
