package browsertest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Environment variables that carry the namespace state from RunInNetNS to
// Start. They are the only channel between the two: the parent process has
// to tell the re-executed child where it stands, and inside one process the
// environment keeps the package free of global variables.
const (
	// envParentNetNS is set in the re-executed test binary. Its value is the
	// network namespace of the parent (the target of /proc/self/ns/net, such
	// as "net:[4026531840]"), so the child can prove that it runs in a
	// different one instead of trusting the marker alone.
	envParentNetNS = "TELECART_BROWSERTEST_PARENT_NETNS"

	// envNoNetNS is set when no namespace could be created. Its value is the
	// reason, which Start puts in its skip message.
	envNoNetNS = "TELECART_BROWSERTEST_NO_NETNS"

	// envRequire turns every skip of Start into a failure when set to 1, so
	// that CI cannot pass by skipping all browser tests.
	envRequire = "TELECART_BROWSERTEST_REQUIRE"
)

// nsLink is where the kernel names the network namespace of this process.
const nsLink = "/proc/self/ns/net"

// RunInNetNS runs the tests of m inside a private network namespace that has
// only a loopback interface, and returns the exit code for os.Exit. Call it
// from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(browsertest.RunInNetNS(m)) }
//
// The first call re-executes the test binary with the same arguments in a new
// network namespace (CLONE_NEWNET, what `unshare --net` does) and passes its
// output and exit code through. In the child it brings lo up, checks that
// nothing but loopback can carry traffic, and runs the tests. So a browser
// that a test starts cannot reach any address outside this machine, whatever
// a page asks for.
//
// When the kernel refuses a namespace (for example EPERM for a user without
// CAP_SYS_ADMIN), the tests run in the current namespace and Start skips
// every browser test with the reason.
func RunInNetNS(m *testing.M) int {
	if parent, ok := os.LookupEnv(envParentNetNS); ok {
		if err := enterIsolated(parent); err != nil {
			fmt.Fprintf(os.Stderr, "browsertest: %v\n", err)
			return 1
		}
		return m.Run()
	}
	code, err := reexecInNetNS()
	if err != nil {
		// Running the tests anyway keeps the other tests of the package
		// useful; Start reads the reason and skips the browser tests.
		if serr := os.Setenv(envNoNetNS, err.Error()); serr != nil {
			fmt.Fprintf(os.Stderr, "browsertest: %v\n", serr)
			return 1
		}
		return m.Run()
	}
	return code
}

// reexecInNetNS runs this test binary again in a new network namespace and
// returns its exit code. An error means that the child could not start, so
// no test ran yet.
func reexecInNetNS() (int, error) {
	parent, err := os.Readlink(nsLink)
	if err != nil {
		return 0, fmt.Errorf("reading the current network namespace: %w", err)
	}
	// os.Args[0] can be relative; the executable path is not.
	exe, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("finding the test binary: %w", err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	cmd.Env = append(os.Environ(), envParentNetNS+"="+parent)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// The kernel makes the namespace at clone time, so a refusal comes
		// back from Start as a plain errno and not as a failed test run.
		Cloneflags: syscall.CLONE_NEWNET,
		// If this process dies, the child must not run on unwatched.
		Pdeathsig: syscall.SIGKILL,
	}
	// Pdeathsig fires when the thread that started the child exits, not the
	// process, so keep this goroutine on one thread until the child is done.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting the tests in a new network namespace: %w", err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			fmt.Fprintf(os.Stderr, "browsertest: the test binary in the network namespace was killed by %v\n", ws.Signal())
			return 1, nil
		}
		return exit.ExitCode(), nil
	default:
		// The child ran, so its tests may have run: report a failure rather
		// than running them a second time here.
		fmt.Fprintf(os.Stderr, "browsertest: waiting for the test binary in the network namespace: %v\n", err)
		return 1, nil
	}
}

// enterIsolated prepares the namespace of the re-executed child: it checks
// that the namespace is not the parent's, brings lo up and checks that only
// loopback can carry traffic.
func enterIsolated(parent string) error {
	if err := checkOwnNetNS(parent); err != nil {
		return err
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	return checkLoopbackOnly()
}

// checkOwnNetNS returns an error unless this process runs in a network
// namespace other than parent. The environment marker alone could be set by
// hand or leak into an unrelated process.
func checkOwnNetNS(parent string) error {
	own, err := os.Readlink(nsLink)
	if err != nil {
		return fmt.Errorf("reading the network namespace: %w", err)
	}
	if own == parent {
		return fmt.Errorf("%s=%s is set but this process runs in that same network namespace", envParentNetNS, parent)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo. A new network namespace has lo down, and with
// it down not even 127.0.0.1 works. An ioctl needs neither a shell nor
// iproute2.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: reading its flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// checkLoopbackOnly returns an error if an interface other than loopback is
// up or a route goes through a device other than lo. That is the guarantee
// that nothing a test does leaves the machine. A new namespace can hold
// fallback tunnel devices such as sit0 when their modules are loaded; they
// are down and harmless, so only interfaces that are up count.
func checkLoopbackOnly() error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	loUp := false
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		if ifc.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("network namespace is not isolated: interface %s is up", ifc.Name)
		}
		loUp = true
	}
	if !loUp {
		return errors.New("no loopback interface is up")
	}
	// /proc/net/route is the IPv4 main table, with the device first;
	// /proc/net/ipv6_route holds every IPv6 table, with the device last.
	if err := checkRouteDevices("/proc/net/route", true, func(f []string) string { return f[0] }); err != nil {
		return err
	}
	return checkRouteDevices("/proc/net/ipv6_route", false, func(f []string) string { return f[len(f)-1] })
}

// checkRouteDevices returns an error if a route in the proc file at path uses
// a device other than lo.
func checkRouteDevices(path string, header bool, device func([]string) string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			// No IPv6 in this kernel means no IPv6 routes.
			return nil
		}
		return fmt.Errorf("reading routes: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		if first && header {
			continue
		}
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if dev := device(fields); dev != "lo" {
			return fmt.Errorf("network namespace is not isolated: %s has a route through %s", path, dev)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// netnsState tells Start whether this process runs in the isolated namespace
// that RunInNetNS made. It returns a skip reason when it does not, and an
// error when the state is broken (which must fail the test, never skip it).
func netnsState() (skip string, err error) {
	if parent, ok := os.LookupEnv(envParentNetNS); ok {
		if err := checkOwnNetNS(parent); err != nil {
			return "", err
		}
		return "", checkLoopbackOnly()
	}
	if reason, ok := os.LookupEnv(envNoNetNS); ok {
		return "skipping: cannot create a network namespace here: " + reason, nil
	}
	return "", errors.New("not in a private network namespace: TestMain must return browsertest.RunInNetNS(m)")
}

// RequireNetNS skips the test (fails it, with TELECART_BROWSERTEST_REQUIRE=1)
// unless it runs in the namespace with only loopback that RunInNetNS made:
// for a test that changes the namespace's network (firewall rules, say),
// which must never touch the machine's own.
func RequireNetNS(t testing.TB) {
	t.Helper()
	skip, err := netnsState()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	if skip != "" {
		Skip(t, skip)
	}
}

// OutsideNetNS returns the path of the network namespace that RunInNetNS
// left, with this machine's network in it, for a step of a test that must
// reach that network and is no browser: building a container image fetches
// Debian packages and Go modules. The step runs there with
// `nsenter --net=PATH`; the browser and the servers under test stay in
// the isolated namespace. It is the namespace of the process that started
// this one, checked against what that process recorded.
func OutsideNetNS() (string, error) {
	parent, ok := os.LookupEnv(envParentNetNS)
	if !ok {
		return "", errors.New("not in a private network namespace: TestMain must return browsertest.RunInNetNS(m)")
	}
	path := fmt.Sprintf("/proc/%d/ns/net", os.Getppid())
	ns, err := os.Readlink(path)
	if err != nil {
		return "", fmt.Errorf("reading the parent's network namespace: %w", err)
	}
	if ns != parent {
		return "", fmt.Errorf("the parent process is in network namespace %s, not %s, where the tests started", ns, parent)
	}
	return path, nil
}
