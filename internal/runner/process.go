package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/sandbox"
)

var (
	// ErrCrashed means the runner exited or was killed without being asked to.
	ErrCrashed = errors.New("runner: crashed")
	// ErrHung means the runner sent no frame for Options.HangTimeout and was killed.
	ErrHung = errors.New("runner: stopped answering")
	// ErrFailed means the runner reported an error (a bad game, a bad core) and exited.
	ErrFailed = errors.New("runner: game failed")
	// ErrStartTimeout means the game was not running within Options.StartTimeout.
	ErrStartTimeout = errors.New("runner: game did not start in time")
	// ErrExited is returned by calls on a Process whose runner has exited.
	ErrExited = errors.New("runner: not running")
)

// RefusedError is the runner's answer to a request it could not carry out
// (a state the core refused, say): the request failed, the runner and its
// game go on.
type RefusedError struct {
	Op     wire.Op
	Reason string // the runner's words, for the log
}

func (e *RefusedError) Error() string { return fmt.Sprintf("runner: %v: %s", e.Op, e.Reason) }

// childFD is the descriptor of the runner's socket in the child: the first
// of exec.Cmd.ExtraFiles.
const childFD = 3

// Defaults for Options.
const (
	DefaultHangTimeout  = 5 * time.Second
	DefaultStartTimeout = 15 * time.Second
	stopGrace           = 3 * time.Second
	writeTimeout        = 2 * time.Second
)

// Handlers receive what a runner sends. They are called from one goroutine,
// in order, and must not block: a slow handler delays every later frame.
// Nil handlers are skipped.
type Handlers struct {
	Video    func(wire.Video)
	Audio    func(wire.Audio)
	Geometry func(wire.Geometry)
	Stats    func(wire.Stats)
}

// Options configure Start.
type Options struct {
	Config Config
	// Command is the runner's argv; empty means this executable with the
	// argument "runner".
	Command []string
	// Env is added to this process's environment for the runner.
	Env []string
	// HangTimeout is how long the runner may go without sending a frame
	// before it is killed as hung, once the game runs.
	HangTimeout time.Duration
	// StartTimeout bounds loading the core and the game.
	StartTimeout time.Duration
	Logger       *slog.Logger
	Handlers     Handlers
}

// Process is a running game in a runner child process; or, taken from a
// Pool, a runner started ahead of need and waiting for its game.
type Process struct {
	cmd    *exec.Cmd
	output *logWriter
	conn   net.Conn
	// logp and handlers are the room's once it takes the runner from a
	// pool, while the goroutines reading the runner already run.
	logp     atomic.Pointer[slog.Logger]
	handlers atomic.Pointer[Handlers]
	ready    wire.Ready
	readyCh  chan wire.Ready
	prepared chan struct{} // closed on the runner's Prepared
	// run hands supervise the hang timeout once the game runs: until
	// then, loading the core and the game is StartTimeout's to bound, and
	// a runner waiting in a pool waits as long as it must.
	run chan time.Duration

	wmu sync.Mutex
	w   *wire.Writer

	lastFrame atomic.Int64 // unix nanoseconds of the newest video frame
	nextID    atomic.Uint32
	pmu       sync.Mutex
	pending   map[uint32]chan wire.Reply

	stopping atomic.Bool
	hung     atomic.Bool
	fatal    atomic.Pointer[wire.Fatal]

	done chan struct{}
	err  error
}

// Start starts a runner for opts.Config and returns once the game runs.
func Start(ctx context.Context, opts Options) (*Process, error) {
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	p, err := spawn(opts)
	if err != nil {
		return nil, err
	}
	if err := p.begin(ctx, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// spawn starts a runner process, which waits for its Start message: the
// part of a runner's start that needs no game (the exec, the namespaces,
// the Go runtime's start-up). Of opts it uses the Command, the Env, the
// sandbox's layers (Config.Unsandboxed) and the Logger.
func spawn(opts Options) (*Process, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	argv := opts.Command
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("runner: find own executable: %w", err)
		}
		argv = []string{exe, "runner"}
	}

	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("runner: socketpair: %w", err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "runner-parent")
	childEnd := os.NewFile(uintptr(fds[1]), "runner-child")
	defer childEnd.Close()
	conn, err := net.FileConn(parentEnd)
	parentEnd.Close()
	if err != nil {
		return nil, fmt.Errorf("runner: socket: %w", err)
	}

	output := &logWriter{log: log}
	cmd, err := startChild(argv, opts, childEnd, output)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("runner: start %s: %w", argv[0], err)
	}
	p := &Process{
		cmd:      cmd,
		output:   output,
		conn:     conn,
		readyCh:  make(chan wire.Ready, 1),
		prepared: make(chan struct{}),
		run:      make(chan time.Duration, 1),
		w:        wire.NewWriter(conn),
		pending:  map[uint32]chan wire.Reply{},
		done:     make(chan struct{}),
	}
	p.logp.Store(log.With("pid", cmd.Process.Pid))
	p.handlers.Store(&Handlers{})
	go p.supervise()
	return p, nil
}

// begin gives a spawned runner its game, opts.Config (already valid), and
// returns once the game runs. From now on the runner's messages go to
// opts.Handlers and its logs to opts.Logger. On failure the runner is gone.
func (p *Process) begin(ctx context.Context, opts Options) error {
	if opts.HangTimeout <= 0 {
		opts.HangTimeout = DefaultHangTimeout
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.Logger != nil {
		log := opts.Logger.With("pid", p.Pid())
		p.logp.Store(log)
		p.output.setLogger(opts.Logger)
	}
	handlers := opts.Handlers
	p.handlers.Store(&handlers)
	fail := func(err error) error {
		p.kill()
		<-p.done
		return err
	}
	config, err := json.Marshal(opts.Config)
	if err != nil {
		return fail(fmt.Errorf("runner: encode config: %w", err))
	}
	if err := p.send(wire.Start{Config: config}); err != nil {
		p.kill()
		<-p.done
		return fmt.Errorf("runner: send config: %w (%w)", err, p.err)
	}
	timeout := time.NewTimer(opts.StartTimeout)
	defer timeout.Stop()
	select {
	case p.ready = <-p.readyCh:
		p.lastFrame.Store(time.Now().UnixNano())
		p.run <- opts.HangTimeout
		return nil
	case <-p.done:
		return p.err
	case <-timeout.C:
		return fail(fmt.Errorf("%w (%v)", ErrStartTimeout, opts.StartTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// discard ends a runner that never got its game: there is nothing to
// stop gently.
func (p *Process) discard() {
	p.stopping.Store(true)
	p.kill()
	<-p.done
}

func (p *Process) log() *slog.Logger { return p.logp.Load() }

// startChild starts the runner process, in a user and a network
// namespace of its own unless its sandbox leaves that layer out. Where
// the namespaces are refused (systemd's RestrictNamespaces, a container's
// seccomp profile, a kernel without unprivileged user namespaces), it
// starts it without them and tells it why, for its report.
func startChild(argv []string, opts Options, socket *os.File, output io.Writer) (*exec.Cmd, error) {
	env := os.Environ()
	if opts.Config.Unsandboxed != sandbox.All {
		env = sandbox.Environ(env)
	}
	env = append(env, opts.Env...)
	command := func(extraEnv ...string) *exec.Cmd {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = append(slices.Clip(env), extraEnv...)
		cmd.ExtraFiles = []*os.File{socket}
		cmd.Stdout, cmd.Stderr = output, output
		cmd.WaitDelay = time.Second
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Setpgid:   true,            // a terminal's Ctrl-C is the parent's to handle
			Pdeathsig: syscall.SIGKILL, // no orphaned games if the worker dies
		}
		return cmd
	}
	if opts.Config.Unsandboxed&sandbox.Network == 0 {
		cmd := command(sandbox.NetworkEnv(nil))
		sandbox.Isolate(cmd.SysProcAttr)
		err := cmd.Start()
		if err == nil {
			return cmd, nil
		}
		cmd = command(sandbox.NetworkEnv(err))
		return cmd, cmd.Start()
	}
	cmd := command()
	return cmd, cmd.Start()
}

// supervise owns the runner: it reads its messages, kills it when it hangs,
// reaps it when it exits, and then fails whatever still waits on it.
func (p *Process) supervise() {
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		p.read()
	}()

	// No tick until the game runs: loading the core and the game is
	// StartTimeout's to bound, as on a busy machine it may well take
	// longer than a frame may, and a runner in a pool has no game yet.
	var tick <-chan time.Time
	var hangTimeout time.Duration
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-exited:
			break loop
		case hangTimeout = <-p.run:
			ticker := time.NewTicker(hangTimeout / 4)
			defer ticker.Stop()
			tick = ticker.C
		case <-tick:
			if since := time.Since(time.Unix(0, p.lastFrame.Load())); since > hangTimeout && !p.stopping.Load() {
				p.log().Warn("runner hung; killing it", "silent_for", since.Round(time.Millisecond))
				p.hung.Store(true)
				p.kill()
			}
		}
	}
	p.conn.Close()
	<-readDone

	p.pmu.Lock()
	for id, ch := range p.pending {
		close(ch)
		delete(p.pending, id)
	}
	p.pending = nil
	p.pmu.Unlock()

	p.err = p.exitError(waitErr)
	p.log().Debug("runner ended", "err", p.err)
	close(p.done)
}

// fileFault is a runner's Fatal whose reason blames the game's file: its
// text, and the libretro error the reason names, so that the room can tell
// the player what is wrong with the file.
type fileFault struct {
	cause error
	text  string
}

func (e fileFault) Error() string { return e.text }
func (e fileFault) Unwrap() error { return e.cause }

// fatalError is the error a runner's Fatal stands for.
func fatalError(f *wire.Fatal) error {
	for _, g := range gameFaults() {
		if f.Reason != "" && g.reason == f.Reason {
			return fmt.Errorf("%w: %w", ErrFailed, fileFault{cause: g.err, text: f.Error})
		}
	}
	return fmt.Errorf("%w: %s", ErrFailed, f.Error)
}

func (p *Process) exitError(waitErr error) error {
	state := p.cmd.ProcessState
	switch {
	case p.hung.Load():
		return fmt.Errorf("%w: no frame for too long", ErrHung)
	case p.fatal.Load() != nil:
		return fatalError(p.fatal.Load())
	case state == nil:
		return fmt.Errorf("%w: %w", ErrCrashed, waitErr)
	case p.stopping.Load() && state.Success():
		return nil
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		if p.stopping.Load() && ws.Signal() == syscall.SIGKILL {
			return nil // killed by Close after its grace period
		}
		return fmt.Errorf("%w: killed by signal %v", ErrCrashed, ws.Signal())
	}
	if crash := p.output.crashLine(); crash != "" {
		return fmt.Errorf("%w: exited with status %d: %s", ErrCrashed, state.ExitCode(), crash)
	}
	return fmt.Errorf("%w: exited with status %d", ErrCrashed, state.ExitCode())
}

func (p *Process) read() {
	r := wire.NewReader(p.conn)
	for {
		msg, err := r.Read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				p.log().Warn("runner: bad message; stopping it", "err", err)
				p.kill()
			}
			return
		}
		h := p.handlers.Load()
		switch m := msg.(type) {
		case wire.Ready:
			select {
			case p.readyCh <- m:
			default: // a second Ready is a runner bug; Start took the first
			}
		case wire.Prepared:
			select {
			case <-p.prepared: // a second one is a runner bug
			default:
				close(p.prepared)
			}
		case wire.Video:
			p.lastFrame.Store(time.Now().UnixNano())
			if h.Video != nil {
				h.Video(m)
			}
		case wire.Audio:
			if h.Audio != nil {
				h.Audio(m)
			}
		case wire.Geometry:
			if h.Geometry != nil {
				h.Geometry(m)
			}
		case wire.Stats:
			if h.Stats != nil {
				h.Stats(m)
			}
		case wire.Reply:
			p.pmu.Lock()
			ch := p.pending[m.ID]
			delete(p.pending, m.ID)
			p.pmu.Unlock()
			if ch != nil {
				ch <- m
			}
		case wire.Fatal:
			p.fatal.Store(&m)
		default:
			p.log().Warn("runner: unexpected message", "type", msg.Type())
		}
	}
}

func (p *Process) kill() {
	// The process may be gone already; then there is nothing to do.
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
}

// send writes one message; one writer at a time, bounded in time so a
// stuck runner cannot stall its callers.
func (p *Process) send(m wire.Message) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	select {
	case <-p.done:
		return fmt.Errorf("%w: %w", ErrExited, p.err)
	default:
	}
	if err := p.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	return p.w.Send(m)
}

// Ready describes the running game.
func (p *Process) Ready() wire.Ready { return p.ready }

// Pid is the runner's process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the runner has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is why the runner exited: nil after Close, else ErrCrashed, ErrHung or
// ErrFailed wrapped with details. Valid once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.err
}

// SendInput sets the controller state of one player slot.
func (p *Process) SendInput(in wire.Input) error { return p.send(in) }

// RequestKeyframe makes the next picture a keyframe.
func (p *Process) RequestKeyframe() error { return p.send(wire.Keyframe{}) }

// SetBitrate changes the video bitrate.
func (p *Process) SetBitrate(kbps int) error {
	return p.send(wire.SetBitrate{Kbps: uint32(kbps)})
}

// SetPhase asks the frame loop to make its frames offset later, modulo a
// period, which it reaches gradually; only in PhaseDisplay.
func (p *Process) SetPhase(offset time.Duration) error {
	return p.send(wire.Phase{Offset: offset})
}

// SaveState returns the game's state.
func (p *Process) SaveState(ctx context.Context) ([]byte, error) {
	return p.request(ctx, wire.OpSaveState, nil)
}

// LoadState restores a state from SaveState.
func (p *Process) LoadState(ctx context.Context, state []byte) error {
	_, err := p.request(ctx, wire.OpLoadState, state)
	return err
}

// Reset presses the console's reset button.
func (p *Process) Reset(ctx context.Context) error {
	_, err := p.request(ctx, wire.OpReset, nil)
	return err
}

// SRAM returns the game's battery save, or nil when it has none.
func (p *Process) SRAM(ctx context.Context) ([]byte, error) {
	data, err := p.request(ctx, wire.OpReadSRAM, nil)
	if len(data) == 0 {
		data = nil
	}
	return data, err
}

// SetSRAM replaces the game's battery save.
func (p *Process) SetSRAM(ctx context.Context, sram []byte) error {
	_, err := p.request(ctx, wire.OpWriteSRAM, sram)
	return err
}

// Thumbnail returns the game's current picture.
func (p *Process) Thumbnail(ctx context.Context) (*image.RGBA, error) {
	b, err := p.request(ctx, wire.OpThumbnail, nil)
	if err != nil {
		return nil, err
	}
	return wire.ParsePicture(b)
}

func (p *Process) request(ctx context.Context, op wire.Op, data []byte) ([]byte, error) {
	id := p.nextID.Add(1)
	ch := make(chan wire.Reply, 1)
	p.pmu.Lock()
	if p.pending == nil {
		p.pmu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrExited, p.Err())
	}
	p.pending[id] = ch
	p.pmu.Unlock()
	forget := func() {
		p.pmu.Lock()
		delete(p.pending, id)
		p.pmu.Unlock()
	}
	if err := p.send(wire.Request{ID: id, Op: op, Data: data}); err != nil {
		forget()
		return nil, fmt.Errorf("runner: %v: %w", op, err)
	}
	select {
	case reply, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("runner: %v: %w: %w", op, ErrExited, p.Err())
		}
		if reply.Error != "" {
			return nil, &RefusedError{Op: op, Reason: reply.Error}
		}
		return reply.Data, nil
	case <-ctx.Done():
		forget()
		return nil, fmt.Errorf("runner: %v: %w", op, ctx.Err())
	}
}

// Close stops the runner, killing it if it does not exit within a few
// seconds, and reaps it. It returns nil if the runner was running normally
// until then, else why it ended. Safe to call more than once.
func (p *Process) Close() error {
	if p.stopping.Swap(true) {
		return p.Err()
	}
	select {
	case <-p.done:
		return p.err
	default:
	}
	if err := p.send(wire.Stop{}); err != nil {
		p.kill()
	}
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
	case <-grace.C:
		p.log().Warn("runner ignored stop; killing it")
		p.kill()
		<-p.done
	}
	return p.err
}

// logWriter turns the runner's output into log records: the runner's own
// JSON log lines keep their level and attributes; anything else (cores
// printing to stdout) is logged as debug output. It remembers the first
// line of a crash report, which says what killed the runner.
type logWriter struct {
	mu    sync.Mutex
	log   *slog.Logger
	buf   []byte
	crash string
}

// setLogger logs the lines to come with log: a pooled runner's are its
// room's once the room takes it.
func (w *logWriter) setLogger(log *slog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = log
}

func (w *logWriter) crashLine() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.crash
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.logLine(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without newline
		w.logLine(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(b), nil
}

func (w *logWriter) logLine(line string) {
	var rec map[string]any
	if json.Unmarshal([]byte(line), &rec) != nil {
		w.log.Debug("runner output", "line", line)
		// The first line the Go runtime prints when a signal or a panic
		// kills the process, as when a core dereferences a bad pointer.
		for _, prefix := range [...]string{"SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT", "panic: ", "fatal error: "} {
			if w.crash == "" && strings.HasPrefix(line, prefix) {
				w.crash = line
			}
		}
		return
	}
	msg, _ := rec[slog.MessageKey].(string)
	var level slog.Level
	if s, ok := rec[slog.LevelKey].(string); !ok || level.UnmarshalText([]byte(s)) != nil {
		level = slog.LevelInfo
	}
	attrs := make([]any, 0, 2*len(rec))
	for k, v := range rec {
		if k != slog.MessageKey && k != slog.LevelKey && k != slog.TimeKey {
			attrs = append(attrs, k, v)
		}
	}
	w.log.Log(context.Background(), level, msg, attrs...)
}
