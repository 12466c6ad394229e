package sandbox

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// call is a system call as the seccomp filter sees it (struct
// seccomp_data), laid out for x/net/bpf's machine, which loads words
// big-endian where the kernel loads them in the machine's order: each
// 32-bit word is written big-endian, the lower half of an argument first,
// as on the little-endian machines the filter is for.
func call(arch uint32, nr uintptr, args ...uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[offNr:], uint32(nr))
	binary.BigEndian.PutUint32(b[offArch:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[argLow(i):], uint32(a))
		binary.BigEndian.PutUint32(b[argHigh(i):], uint32(a>>32))
	}
	return b
}

// TestFilter runs the seccomp program in x/net/bpf's machine against the
// calls a runner makes and the ones a core taken over would.
func TestFilter(t *testing.T) {
	t.Parallel()
	p := runnerPolicy()
	if p.arch == 0 {
		t.Skipf("no allow-list on %s", runtime.GOARCH)
	}
	const pid = 4242
	prog, err := filter(p, pid)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	const thread = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD |
		unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
	tests := []struct {
		name string
		data []byte
		want uint32
	}{
		{"read", call(p.arch, unix.SYS_READ, 3), retAllow},
		{"openat", call(p.arch, unix.SYS_OPENAT), retAllow},
		{"mmap", call(p.arch, unix.SYS_MMAP), retAllow},
		{"futex", call(p.arch, unix.SYS_FUTEX), retAllow},
		{"a thread (glibc, Go)", call(p.arch, unix.SYS_CLONE, thread), retAllow},
		{"a process (fork)", call(p.arch, unix.SYS_CLONE, uint64(unix.SIGCHLD)), retEPERM},
		{"a process (Go's vfork)", call(p.arch, unix.SYS_CLONE, unix.CLONE_VM|unix.CLONE_VFORK|uint64(unix.SIGCHLD)), retEPERM},
		{"a thread in a new user namespace", call(p.arch, unix.SYS_CLONE, thread|unix.CLONE_NEWUSER), retEPERM},
		{"a thread in a new network namespace", call(p.arch, unix.SYS_CLONE, thread|unix.CLONE_NEWNET), retEPERM},
		{"clone3, whose flags it cannot read", call(p.arch, unix.SYS_CLONE3), retENOSYS},
		{"execve", call(p.arch, unix.SYS_EXECVE), retEPERM},
		{"execveat", call(p.arch, unix.SYS_EXECVEAT), retEPERM},
		{"a Unix socket", call(p.arch, unix.SYS_SOCKET, unix.AF_UNIX), retAllow},
		{"an IPv4 socket", call(p.arch, unix.SYS_SOCKET, unix.AF_INET), retEPERM},
		{"an IPv6 socket", call(p.arch, unix.SYS_SOCKET, unix.AF_INET6), retEPERM},
		{"a netlink socket", call(p.arch, unix.SYS_SOCKET, unix.AF_NETLINK), retEPERM},
		{"a packet socket", call(p.arch, unix.SYS_SOCKET, unix.AF_PACKET), retEPERM},
		{"connect", call(p.arch, unix.SYS_CONNECT), retEPERM},
		{"socketpair", call(p.arch, unix.SYS_SOCKETPAIR, unix.AF_UNIX), retEPERM},
		{"kill itself", call(p.arch, unix.SYS_KILL, pid, uint64(unix.SIGABRT)), retAllow},
		{"kill another", call(p.arch, unix.SYS_KILL, pid+1, uint64(unix.SIGKILL)), retEPERM},
		{"kill its group", call(p.arch, unix.SYS_KILL, 0, uint64(unix.SIGKILL)), retEPERM},
		{"kill everyone", call(p.arch, unix.SYS_KILL, 0xffffffff, uint64(unix.SIGKILL)), retEPERM},
		{"preempt its own thread", call(p.arch, unix.SYS_TGKILL, pid, pid+3, uint64(unix.SIGURG)), retAllow},
		{"a thread of another", call(p.arch, unix.SYS_TGKILL, pid+1, pid+1, uint64(unix.SIGKILL)), retEPERM},
		{"tkill", call(p.arch, unix.SYS_TKILL, pid+1, uint64(unix.SIGKILL)), retEPERM},
		{"read its limits", call(p.arch, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_DATA, 0, 0x7ffd0000), retAllow},
		{"read its limits by pid", call(p.arch, unix.SYS_PRLIMIT64, pid, unix.RLIMIT_DATA, 0, 0x7ffd0000), retAllow},
		{"raise a limit", call(p.arch, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_DATA, 0x7ffd0000, 0), retEPERM},
		{"raise a limit, pointer above 4 GiB", call(p.arch, unix.SYS_PRLIMIT64, 0, unix.RLIMIT_DATA, 0x7ffd_00000000, 0), retEPERM},
		{"read another's limits", call(p.arch, unix.SYS_PRLIMIT64, pid+1, unix.RLIMIT_DATA, 0, 0x7ffd0000), retEPERM},
		{"setrlimit", call(p.arch, unix.SYS_SETRLIMIT), retEPERM},
		{"isatty", call(p.arch, unix.SYS_IOCTL, 1, unix.TCGETS), retAllow},
		{"an interface's ioctl", call(p.arch, unix.SYS_IOCTL, 3, unix.SIOCGIFCONF), retEPERM},
		{"a terminal's input (TIOCSTI)", call(p.arch, unix.SYS_IOCTL, 0, unix.TIOCSTI), retEPERM},
		{"name a thread", call(p.arch, unix.SYS_PRCTL, unix.PR_SET_NAME), retAllow},
		{"dumpable", call(p.arch, unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 1), retEPERM},
		{"ptracer", call(p.arch, unix.SYS_PRCTL, unix.PR_SET_PTRACER, 0xffffffff), retEPERM},
		{"ptrace", call(p.arch, unix.SYS_PTRACE), retEPERM},
		{"process_vm_readv", call(p.arch, unix.SYS_PROCESS_VM_READV), retEPERM},
		{"unshare", call(p.arch, unix.SYS_UNSHARE, unix.CLONE_NEWUSER), retEPERM},
		{"setns", call(p.arch, unix.SYS_SETNS), retEPERM},
		{"mount", call(p.arch, unix.SYS_MOUNT), retEPERM},
		{"memfd_create", call(p.arch, unix.SYS_MEMFD_CREATE), retEPERM},
		{"unlinkat", call(p.arch, unix.SYS_UNLINKAT), retEPERM},
		{"mkdirat", call(p.arch, unix.SYS_MKDIRAT), retEPERM},
		{"ftruncate", call(p.arch, unix.SYS_FTRUNCATE), retEPERM},
		{"bpf", call(p.arch, unix.SYS_BPF), retEPERM},
		{"io_uring_setup", call(p.arch, unix.SYS_IO_URING_SETUP), retEPERM},
		{"userfaultfd", call(p.arch, unix.SYS_USERFAULTFD), retEPERM},
		{"keyctl", call(p.arch, unix.SYS_KEYCTL), retEPERM},
		{"perf_event_open", call(p.arch, unix.SYS_PERF_EVENT_OPEN), retEPERM},
		{"seccomp (more filters)", call(p.arch, unix.SYS_SECCOMP), retEPERM},
		{"another architecture", call(p.arch^1, unix.SYS_READ), retKill},
	}
	if p.x32 != 0 {
		tests = append(tests, struct {
			name string
			data []byte
			want uint32
		}{"the x32 numbering", call(p.arch, uintptr(p.x32)|unix.SYS_READ), retKill})
	}
	for _, tt := range tests {
		got, err := vm.Run(tt.data)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if uint32(got) != tt.want {
			t.Errorf("%s: %#x, want %#x", tt.name, uint32(got), tt.want)
		}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > unix.BPF_MAXINSNS {
		t.Fatalf("%d instructions, the kernel takes at most %d", len(raw), unix.BPF_MAXINSNS)
	}
}

// onOneThread runs f on a thread of its own, which ends with it: what
// Landlock and seccomp put on that thread goes with it, and the rest of
// the test binary runs as before. (The Go runtime starts no thread from a
// locked one, so none inherits the confinement.)
func onOneThread(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits
		f()
	}()
	<-done
}

// TestLandlockThread confines one thread to reading one folder and one
// file: it reads them, and nothing else, and writes nothing.
func TestLandlockThread(t *testing.T) {
	t.Parallel()
	if _, err := LandlockABI(); err != nil {
		t.Skipf("this kernel has no Landlock: %v", err)
	}
	allowed := t.TempDir()
	inside := filepath.Join(allowed, "inside")
	file := filepath.Join(t.TempDir(), "file")
	outside := filepath.Join(t.TempDir(), "outside")
	for _, p := range []string{inside, file, outside} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var s Status
	errs := map[string]error{}
	onOneThread(t, func() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			t.Error(err)
			return
		}
		s = landlock([]string{allowed, file, filepath.Join(allowed, "missing")}, nil)
		_, errs["read inside"] = os.ReadFile(inside)
		_, errs["read the file"] = os.ReadFile(file)
		_, errs["list the folder"] = os.ReadDir(allowed)
		_, errs["read outside"] = os.ReadFile(outside)
		errs["write inside"] = os.WriteFile(inside, []byte("y"), 0o644)
		errs["create inside"] = os.WriteFile(filepath.Join(allowed, "new"), []byte("y"), 0o644)
		errs["remove inside"] = os.Remove(inside)
	})
	if !s.On {
		t.Fatalf("Landlock not on: %s", s.Detail)
	}
	t.Log(s.Detail)
	for name, want := range map[string]error{
		"read inside": nil, "read the file": nil, "list the folder": nil,
		"read outside": unix.EACCES, "write inside": unix.EACCES, "create inside": unix.EACCES, "remove inside": unix.EACCES,
	} {
		if got := errs[name]; !errors.Is(got, want) && !(want == nil && got == nil) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	// Other threads were never confined.
	if err := os.WriteFile(filepath.Join(allowed, "new"), []byte("y"), 0o644); err != nil {
		t.Errorf("another thread: %v", err)
	}
}

// TestSeccompThread puts the runner's filter on one thread, which then
// lives on, as a runner's threads do, and is refused what a runner is.
func TestSeccompThread(t *testing.T) {
	t.Parallel()
	p := runnerPolicy()
	if p.arch == 0 {
		t.Skipf("no allow-list on %s", runtime.GOARCH)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var s Status
	errs := map[string]error{}
	onOneThread(t, func() {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			t.Error(err)
			return
		}
		s = installSeccomp(p, 0)
		sock := func(domain int) error {
			fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}
		errs["unix socket"] = sock(unix.AF_UNIX)
		errs["inet socket"] = sock(unix.AF_INET)
		errs["signal the test"] = unix.Kill(os.Getppid(), 0)
		errs["signal itself"] = unix.Kill(os.Getpid(), 0)
		_, errs["read a file"] = os.ReadFile(file)
		_, errs["start a program"] = os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	})
	if !s.On {
		t.Fatalf("seccomp not on: %s", s.Detail)
	}
	for name, want := range map[string]error{
		"unix socket": nil, "signal itself": nil, "read a file": nil,
		"inet socket": unix.EPERM, "signal the test": unix.EPERM, "start a program": unix.EPERM,
	} {
		if got := errs[name]; !errors.Is(got, want) && !(want == nil && got == nil) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

func TestLayers(t *testing.T) {
	t.Parallel()
	for _, l := range []Layers{0, Network, Filesystem | Seccomp, All} {
		s := l.String()
		got, err := ParseLayers(s)
		if err != nil || got != l {
			t.Errorf("%q: %v, %v; want %v", s, got, err, l)
		}
	}
	if got := All.String(); got != "network,filesystem,rlimits,no_new_privs,seccomp" {
		t.Errorf("All is %q", got)
	}
	if _, err := ParseLayers("network,chroot"); err == nil {
		t.Error("an unknown layer parsed")
	}
	var cfg struct {
		Off Layers `json:"off,omitempty"`
	}
	cfg.Off = Seccomp | Rlimits
	b, err := json.Marshal(cfg)
	if err != nil || string(b) != `{"off":"rlimits,seccomp"}` {
		t.Fatalf("%s, %v", b, err)
	}
	cfg.Off = 0
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Off != Seccomp|Rlimits {
		t.Fatalf("%v, %v", cfg.Off, err)
	}
	if b, _ := json.Marshal(struct {
		Off Layers `json:"off,omitempty"`
	}{}); string(b) != "{}" {
		t.Errorf("no layers off: %s", b)
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	var r Report
	r.set(Status{Layer: Seccomp, On: true})
	r.set(Status{Layer: Network, Detail: "no namespaces of its own: operation not permitted"})
	r.set(Status{Layer: Rlimits, Detail: turnedOff})
	r.set(Status{Layer: Filesystem, On: true})
	if got := []Layers{r[0].Layer, r[1].Layer, r[2].Layer, r[3].Layer}; !slices.Equal(got, []Layers{Network, Filesystem, Rlimits, Seccomp}) {
		t.Errorf("order %v", got)
	}
	if r.On() != Filesystem|Seccomp {
		t.Errorf("on: %v", r.On())
	}
	if refused := r.Refused(); len(refused) != 1 || refused[0].Layer != Network {
		t.Errorf("refused: %v", refused)
	}
	if r.TurnedOff() != Rlimits {
		t.Errorf("turned off: %v", r.TurnedOff())
	}
	if None().TurnedOff() != All || None().On() != 0 {
		t.Errorf("None: %v", None())
	}
}

func TestEnviron(t *testing.T) {
	t.Parallel()
	got := Environ([]string{
		"PATH=/usr/bin", "TELECART_TOKEN=secret", "TELECART_S3_SECRET_KEY=secret", "AWS_SECRET_ACCESS_KEY=secret",
		"HOME=/root", "LANG=C.UTF-8", "LC_ALL=C", "GODEBUG=x=1", "GOOGLE_APPLICATION_CREDENTIALS=/key.json", "LD_LIBRARY_PATH=/opt/lib",
	})
	want := []string{"PATH=/usr/bin", "LANG=C.UTF-8", "LC_ALL=C", "GODEBUG=x=1", "LD_LIBRARY_PATH=/opt/lib"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// The parent's word on the namespaces becomes the network layer's
// status; a refusal is reported as such, with the kernel's reason.
func TestNetworkStatus(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     string // "" for none
		off     bool
		on      bool
		refused bool
		detail  string
	}{
		{"own", NetworkEnv(nil), false, true, false, "a user and a network namespace of its own: no network interface"},
		{"refused", NetworkEnv(errors.New("fork/exec /usr/local/bin/telecart: operation not permitted")), false, false, true, "no namespaces of its own: fork/exec /usr/local/bin/telecart: operation not permitted"},
		{"no parent's word", "", false, false, true, "no namespaces of its own: not started by a parent that makes them"},
		{"turned off", NetworkEnv(nil), true, false, false, turnedOff},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				name, value, _ := strings.Cut(tt.env, "=")
				t.Setenv(name, value)
			} else {
				t.Setenv(networkEnv, "")
				os.Unsetenv(networkEnv)
			}
			s, own := networkStatus(tt.off)
			r := Report{s}
			if s.On != tt.on || own != tt.on || (len(r.Refused()) == 1) != tt.refused || s.Detail != tt.detail {
				t.Errorf("on %v, own namespace %v, refused %v, %q", s.On, own, r.Refused(), s.Detail)
			}
		})
	}
}
