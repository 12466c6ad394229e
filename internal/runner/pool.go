package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/sandbox"
)

// PoolConfig configures a Pool.
type PoolConfig struct {
	// Size is how many started runners the pool keeps waiting.
	Size int
	// Options are every runner's base: a runner's Command, Env and
	// sandbox (Config.Unsandboxed) are fixed when it starts, before its
	// game is known; Start hands it the rest. Logger logs the runners
	// while they wait.
	Options Options
	// Free, when set, is how many more runners may run now: the pool
	// keeps no more than that many waiting, so a full worker keeps none
	// and its runners never outnumber its rooms' places.
	Free func() int
	// Read are the files and folders the pool's games and cores are in.
	// A runner waiting in the pool is already confined to them, its
	// sandbox entered and its program executed again, so Start leaves it
	// only the core and the game to load. A game outside them starts in
	// a runner of its own, confined to its one core and one game.
	Read []string
}

// Pool keeps runner processes started ahead of need: a room's first frame
// then waits for its core and game to load, and not for the execs, the
// sandbox and the Go runtime's start-ups. It refills itself in the
// background, one runner at a time, until Close, and only once the runner
// taken runs its game: on a small machine the next runner's start would
// otherwise take the CPU from the game's.
type Pool struct {
	cfg  PoolConfig
	log  *slog.Logger
	wake chan struct{} // a refill is wanted
	stop context.CancelFunc
	done chan struct{} // the refilling goroutine has returned

	mu   sync.Mutex
	idle []*Process
}

// Backoff between attempts to start a runner for the pool that failed.
const (
	minPoolRetry = time.Second
	maxPoolRetry = 30 * time.Second
)

// NewPool starts a pool, which begins filling at once; Close stops it. A
// Size of 0 keeps nothing waiting, and its Start starts runners afresh.
func NewPool(cfg PoolConfig) *Pool {
	log := cfg.Options.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Pool{cfg: cfg, log: log, wake: make(chan struct{}, 1), stop: stop, done: make(chan struct{})}
	go p.fill(ctx)
	return p
}

// Start starts a runner for opts.Config as runner.Start does, taking one
// from the pool when one waits and opts starts runners as the pool's do.
// A nil Pool starts every runner afresh.
func (p *Pool) Start(ctx context.Context, opts Options) (*Process, error) {
	if p == nil {
		return Start(ctx, opts)
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, err
	}
	proc := p.take(opts)
	if proc == nil {
		return Start(ctx, opts)
	}
	defer p.Refill()
	proc.log().Debug("runner: taken from the pool")
	if err := proc.begin(ctx, opts); err != nil {
		if !errors.Is(err, ErrCrashed) || ctx.Err() != nil {
			return nil, err
		}
		// Killed while it waited (the OOM killer, an operator), or its
		// game crashed it: once more in a runner of its own, which tells
		// the two apart.
		proc.log().Warn("runner pool: the runner taken ended before its game ran; starting another", "err", err)
		return Start(ctx, opts)
	}
	return proc, nil
}

// take is a waiting runner that suits opts, or nil.
func (p *Pool) take(opts Options) *Process {
	base := p.cfg.Options
	if !slices.Equal(opts.Command, base.Command) || !slices.Equal(opts.Env, base.Env) || opts.Config.Unsandboxed != base.Config.Unsandboxed {
		return nil
	}
	if base.Config.Unsandboxed&sandbox.Filesystem == 0 && !covers(p.prepared().Read, opts.Config.sandbox().Read) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		proc := p.idle[0]
		p.idle = p.idle[1:]
		select {
		case <-proc.Done():
			// It died waiting (killed from outside, say): the next one.
		default:
			return proc
		}
	}
	return nil
}

// Idle is how many runners wait in the pool.
func (p *Pool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Pids are the process ids of the runners waiting in the pool.
func (p *Pool) Pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	pids := make([]int, len(p.idle))
	for i, proc := range p.idle {
		pids[i] = proc.Pid()
	}
	return pids
}

// Refill tells the pool that places may have come free (a room ended):
// it starts runners until it is full again.
func (p *Pool) Refill() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Close stops the refilling and ends the runners waiting; the ones taken
// are their takers' to close.
func (p *Pool) Close() error {
	p.stop()
	<-p.done
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, proc := range idle {
		proc.discard()
	}
	return nil
}

// want is how many runners the pool should hold now.
func (p *Pool) want() int {
	n := p.cfg.Size
	if p.cfg.Free != nil {
		n = min(n, p.cfg.Free())
	}
	return n
}

// fill starts runners until the pool holds what it should, then waits to
// be woken; it returns when ctx ends.
func (p *Pool) fill(ctx context.Context) {
	defer close(p.done)
	retry := minPoolRetry
	for {
		for ctx.Err() == nil && p.Idle() < p.want() {
			proc, err := p.spawn(ctx)
			if err != nil {
				p.log.Warn("runner pool: cannot start a runner; trying again", "err", err, "in", retry)
				select {
				case <-ctx.Done():
				case <-time.After(retry):
				}
				retry = min(2*retry, maxPoolRetry)
				continue
			}
			retry = minPoolRetry
			p.mu.Lock()
			p.idle = append(p.idle, proc)
			p.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
	}
}

// prepared is the sandbox the pool's runners wait in.
func (p *Pool) prepared() sandbox.Spec {
	return p.cfg.Options.Config.sandboxReading(p.cfg.Read...)
}

// spawn starts a runner for the pool, and returns once it is confined
// and waits for its game.
func (p *Pool) spawn(ctx context.Context) (*Process, error) {
	proc, err := spawn(p.cfg.Options)
	if err != nil || p.cfg.Options.Config.Unsandboxed == sandbox.All {
		return proc, err
	}
	fail := func(err error) (*Process, error) {
		proc.discard()
		return nil, fmt.Errorf("runner: prepare: %w", err)
	}
	spec, err := json.Marshal(p.prepared())
	if err != nil {
		return fail(err)
	}
	if err := proc.send(wire.Prepare{Sandbox: spec}); err != nil {
		return fail(err)
	}
	timeout := time.NewTimer(DefaultStartTimeout)
	defer timeout.Stop()
	select {
	case <-proc.prepared:
		return proc, nil
	case <-proc.Done():
		return fail(proc.err)
	case <-timeout.C:
		return fail(fmt.Errorf("%w (%v)", ErrStartTimeout, DefaultStartTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// covers reports whether every path that exists in paths is in one of
// roots (the same or below it), links followed as Landlock follows them.
func covers(roots, paths []string) bool {
	resolved := make([]string, 0, len(roots))
	for _, r := range roots {
		if r, err := filepath.EvalSymlinks(r); err == nil {
			resolved = append(resolved, r)
		}
	}
	for _, path := range paths {
		path, err := filepath.EvalSymlinks(path)
		if err != nil {
			continue // nothing there for Landlock to grant either
		}
		if !slices.ContainsFunc(resolved, func(root string) bool {
			rel, err := filepath.Rel(root, path)
			return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
		}) {
			return false
		}
	}
	return true
}
