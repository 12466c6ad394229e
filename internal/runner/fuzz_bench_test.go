package runner_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/fixturetest"
	"github.com/telecart/telecart/internal/runner"
	"github.com/telecart/telecart/internal/runner/runnertest"
	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/saves"
	"github.com/telecart/telecart/internal/waittest"
)

// BenchmarkFuzzSaves feeds every core save files made of its own states,
// mutated, with their checksums made anew (as a player who crafted a
// .tcsave would), through the path a save takes: the file parsed as the
// worker parses an upload, its state loaded into a runner in the whole
// sandbox with LoadState. For each core it counts the cases, the states
// the core took, those it refused, and the runners that died (crashed,
// hung or failed); each death must be noticed (Done), told (Err is one of
// the runner's errors), reaped, and answered with ErrExited afterwards,
// and a new runner takes over. Beside it all, a second runner plays the
// test ROM: its frame rate, from its Stats, must stay at 60 fps.
//
// It runs only when asked, TELECART_FUZZ_PER_CORE long for each core:
//
//	TELECART_FUZZ_PER_CORE=1m go test -run '^$' -bench FuzzSaves -benchtime 1x -timeout 0 ./internal/runner
//
// TELECART_FUZZ_SEED picks the mutations (1 by default: a run is
// repeatable), and TELECART_FUZZ_CRASHERS names a folder to keep the
// states that killed a runner in.
func BenchmarkFuzzSaves(b *testing.B) {
	perCore, err := time.ParseDuration(os.Getenv("TELECART_FUZZ_PER_CORE"))
	if err != nil {
		b.Skip("fuzzing the cores with saves takes minutes: set TELECART_FUZZ_PER_CORE to a duration for each core (1m, 10m)")
	}
	seed := uint64(1)
	if s := os.Getenv("TELECART_FUZZ_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			b.Fatalf("TELECART_FUZZ_SEED: %v", err)
		}
	}
	crashers := os.Getenv("TELECART_FUZZ_CRASHERS")
	witness := startWitness(b)
	for i, system := range cores.Systems() {
		b.Run(system.ID, func(b *testing.B) {
			for range b.N {
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				witness.reset()
				t := fuzzCore(b, system, perCore, rng, crashers)
				w := witness.take(b)
				b.ReportMetric(float64(t.cases), "cases")
				b.ReportMetric(float64(t.accepted), "accepted")
				b.ReportMetric(float64(t.refused), "refused")
				b.ReportMetric(float64(t.crashed), "crashed")
				b.ReportMetric(float64(t.hung), "hung")
				b.ReportMetric(float64(t.failed), "failed")
				b.ReportMetric(float64(t.poisoned), "poisoned")
				b.ReportMetric(w.mean, "witness-fps")
				b.ReportMetric(w.min, "witness-min-fps")
				b.Logf("%s, seed %d, %v: %d cases: %d accepted (%d of them poisoned the core), %d refused, %d runners died (%d crashed, %d hung, %d failed); by mutation: %s; deaths: %s; witness %.2f fps (slowest second %.2f, %d late frames)",
					system.ID, seed, perCore, t.cases, t.accepted, t.poisoned, t.refused, t.crashed+t.hung+t.failed, t.crashed, t.hung, t.failed,
					t.kinds(), t.deathReasons(), w.mean, w.min, w.late)
				if w.mean < 0.95*witness.fps {
					b.Errorf("the witness ran at %.2f fps beside the fuzzing, its game's rate is %.2f", w.mean, witness.fps)
				}
			}
		})
	}
}

// tally counts one core's cases.
type tally struct {
	cases, accepted, refused, crashed, hung, failed int
	// poisoned counts states taken that left the core unable to take
	// one of its own back, its runner alive.
	poisoned int
	byKind   map[string]*[3]int // accepted, refused, died
	deaths   map[string]int     // by the runner's error
}

func (t *tally) deathReasons() string {
	if len(t.deaths) == 0 {
		return "none"
	}
	var parts []string
	for _, why := range slices.Sorted(maps.Keys(t.deaths)) {
		parts = append(parts, fmt.Sprintf("%d× %s", t.deaths[why], why))
	}
	return strings.Join(parts, "; ")
}

func (t *tally) kinds() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(t.byKind)) {
		n := t.byKind[k]
		parts = append(parts, fmt.Sprintf("%s %d/%d/%d", k, n[0], n[1], n[2]))
	}
	return strings.Join(parts, ", ") + " (accepted/refused/died)"
}

// fuzzCore plays one core's game, saves two states of it, and loads
// mutations of them for d.
func fuzzCore(b *testing.B, system cores.System, d time.Duration, rng *rand.Rand, crashers string) *tally {
	cfg := runner.Config{Core: fixturetest.Core(b, system.ID), Game: fixturetest.Game(b, system.ID)}
	ctx := context.Background()
	r := startFuzzed(b, cfg)
	var bases [][]byte
	for i := range 2 {
		r.frames(b, 60)
		_ = r.p.SendInput(wire.Input{Slot: 0, Seq: uint32(i + 1), Buttons: uint16(rng.Uint32())})
		state, err := r.p.SaveState(ctx)
		if err != nil {
			b.Fatalf("save a state to start from: %v", err)
		}
		bases = append(bases, state)
	}
	game := saves.Game{ID: system.ID + ":fuzz", Core: r.p.Ready().Core + " " + r.p.Ready().CoreVersion}
	t := &tally{byKind: map[string]*[3]int{}, deaths: map[string]int{}}
	for deadline := time.Now().Add(d); time.Now().Before(deadline) && t.cases < 10_000_000; t.cases++ {
		base := bases[rng.IntN(len(bases))]
		kind, state := mutate(rng, base)
		// A crafted file with its checksum made anew passes the
		// worker's checks: the state reaches the core as it is.
		sv, err := saves.ParseFile(saves.File(saves.Save{Game: game, Slot: 1, Time: time.Now(), State: state}))
		if err != nil {
			b.Fatalf("a save file with a good checksum refused: %v", err)
		}
		if t.byKind[kind] == nil {
			t.byKind[kind] = &[3]int{}
		}
		lctx, cancel := context.WithTimeout(ctx, waittest.Limit)
		err = r.p.LoadState(lctx, sv.State)
		cancel()
		died := false
		switch {
		case err == nil:
			// Taken: the core must also run on it, and then take back
			// a state of its own.
			t.accepted++
			t.byKind[kind][0]++
			if !r.frames(b, 1) {
				died = true
				break
			}
			if err := r.p.LoadState(ctx, base); err != nil {
				if errors.Is(err, runner.ErrExited) {
					died = true
					break
				}
				// Alive, but the state left the core unable to take
				// its own back: a new runner for the next case.
				t.poisoned++
				_ = r.p.Close()
				r = startFuzzed(b, cfg)
			}
		case errors.Is(err, runner.ErrExited), isDone(r.p):
			died = true
		default:
			t.refused++
			t.byKind[kind][1]++
		}
		if !died {
			continue
		}
		t.byKind[kind][2]++
		reason := r.dead(b)
		switch {
		case errors.Is(reason, runner.ErrHung):
			t.hung++
		case errors.Is(reason, runner.ErrFailed):
			t.failed++
		default:
			t.crashed++
		}
		t.deaths[reason.Error()]++
		if crashers != "" {
			name := filepath.Join(crashers, fmt.Sprintf("%s-%d-%s.state", system.ID, t.cases, strings.ReplaceAll(kind, " ", "-")))
			if err := os.WriteFile(name, state, 0o644); err != nil {
				b.Error(err)
			}
		}
		r = startFuzzed(b, cfg)
		if err := r.p.LoadState(ctx, base); err != nil {
			b.Fatalf("a new runner refused the state it started from: %v", err)
		}
	}
	r.close(b)
	return t
}

// mutate makes a state to try out of a real one: bits flipped, bytes
// overwritten (anywhere, or in the first 256 bytes, where cores keep
// their sizes and versions), integers set to values that break size
// checks, the state cut short, made longer, a chunk taken out or
// doubled, or random bytes of its size or of another.
func mutate(rng *rand.Rand, base []byte) (string, []byte) {
	s := slices.Clone(base)
	switch rng.IntN(10) {
	case 0:
		for range 1 + rng.IntN(8) {
			i := rng.IntN(len(s))
			s[i] ^= 1 << rng.IntN(8)
		}
		return "few bits", s
	case 1:
		for range 1 + rng.IntN(256) {
			i := rng.IntN(len(s))
			s[i] ^= 1 << rng.IntN(8)
		}
		return "many bits", s
	case 2:
		for range 1 + rng.IntN(64) {
			s[rng.IntN(len(s))] = byte(rng.Uint32())
		}
		return "bytes", s
	case 3:
		head := min(len(s), 256)
		for range 1 + rng.IntN(8) {
			s[rng.IntN(head)] = byte(rng.Uint32())
		}
		return "header", s
	case 4:
		values := []uint32{0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, uint32(len(s)), uint32(len(s)) + 1, uint32(len(s)) * 2}
		for range 1 + rng.IntN(4) {
			if len(s) < 4 {
				break
			}
			i := rng.IntN(len(s)/4) * 4
			v := values[rng.IntN(len(values))]
			if rng.IntN(2) == 0 {
				binary.LittleEndian.PutUint32(s[i:], v)
			} else {
				binary.BigEndian.PutUint32(s[i:], v)
			}
		}
		return "integers", s
	case 5:
		return "truncated", s[:1+rng.IntN(len(s))]
	case 6:
		extra := make([]byte, 1+rng.IntN(64<<10))
		fill(rng, extra)
		return "extended", append(s, extra...)
	case 7:
		i, j := rng.IntN(len(s)), rng.IntN(len(s))
		i, j = min(i, j), max(i, j)
		if rng.IntN(2) == 0 {
			return "chunk removed", slices.Delete(s, i, j)
		}
		return "chunk doubled", slices.Insert(s, j, s[i:j]...)
	case 8:
		fill(rng, s)
		return "random", s
	}
	r := make([]byte, 1+rng.IntN(2*len(s)))
	fill(rng, r)
	return "random, any size", r
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
}

// fuzzed is a runner under fuzzing: it remembers only that frames come.
type fuzzed struct {
	p     *runner.Process
	frame chan struct{}
}

func startFuzzed(b *testing.B, cfg runner.Config) *fuzzed {
	b.Helper()
	r := &fuzzed{frame: make(chan struct{}, 1)}
	opts := runnertest.Options(cfg)
	// The cores' complaints about the states, many a second.
	opts.Logger = slog.New(slog.DiscardHandler)
	// A core that loops forever on a state is found out sooner than
	// the default's 5 s; the machine runs nothing else meanwhile.
	opts.HangTimeout = 2 * time.Second
	opts.Handlers.Video = func(wire.Video) {
		select {
		case r.frame <- struct{}{}:
		default:
		}
	}
	p, err := runner.Start(context.Background(), opts)
	if err != nil {
		b.Fatalf("start a runner: %v", err)
	}
	r.p = p
	b.Cleanup(func() { _ = p.Close() })
	return r
}

// frames waits for n new frames; false if the runner ended first.
func (r *fuzzed) frames(b *testing.B, n int) bool {
	b.Helper()
	select {
	case <-r.frame: // one that came before
	default:
	}
	for range n {
		select {
		case <-r.frame:
		case <-r.p.Done():
			return false
		case <-time.After(waittest.Limit):
			b.Fatalf("no frame for %v, and the runner was not found hung", waittest.Limit)
		}
	}
	return true
}

func isDone(p *runner.Process) bool {
	select {
	case <-p.Done():
		return true
	default:
		return false
	}
}

// dead checks that a runner that died is noticed and told as a runner's
// death, reaped, and refuses requests; and returns why it died.
func (r *fuzzed) dead(b *testing.B) error {
	b.Helper()
	select {
	case <-r.p.Done():
	case <-time.After(waittest.Limit):
		b.Fatalf("a runner that refused a request as ended was not done within %v", waittest.Limit)
	}
	err := r.p.Err()
	if !errors.Is(err, runner.ErrCrashed) && !errors.Is(err, runner.ErrHung) && !errors.Is(err, runner.ErrFailed) {
		b.Errorf("a runner that died tells %v, not one of the runner's errors", err)
	}
	assertReaped(b, r.p.Pid())
	if _, err := r.p.SaveState(context.Background()); !errors.Is(err, runner.ErrExited) {
		b.Errorf("a request to a dead runner: %v, want ErrExited", err)
	}
	return err
}

func (r *fuzzed) close(b *testing.B) {
	if err := r.p.Close(); err != nil {
		b.Errorf("close the last runner: %v", err)
	}
}

// witness is a runner that plays the test ROM beside the fuzzing, and
// its frame rate.
type witness struct {
	p   *runner.Process
	fps float64 // its game's rate

	mu    sync.Mutex
	stats []wire.Stats
}

type witnessRate struct {
	mean, min float64
	late      int
}

func startWitness(b *testing.B) *witness {
	w := &witness{}
	opts := runnertest.Options(runner.Config{Core: fixturetest.Core(b, "nes"), Game: fixturetest.TestROM(b)})
	opts.Handlers.Stats = func(s wire.Stats) {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.stats = append(w.stats, s)
	}
	p, err := runner.Start(context.Background(), opts)
	if err != nil {
		b.Fatal(err)
	}
	w.p, w.fps = p, p.Ready().FPS
	b.Cleanup(func() {
		if err := p.Close(); err != nil {
			b.Errorf("the witness: %v", err)
		}
	})
	return w
}

func (w *witness) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stats = nil
}

// take is the witness's frame rate since reset.
func (w *witness) take(b *testing.B) witnessRate {
	if isDone(w.p) {
		b.Fatalf("the witness died: %v", w.p.Err())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var frames int
	var interval time.Duration
	r := witnessRate{min: w.fps}
	for _, s := range w.stats {
		frames += s.Frames
		interval += s.Interval
		r.late += s.Late
		r.min = min(r.min, s.FPS)
	}
	if interval > 0 {
		r.mean = float64(frames) / interval.Seconds()
	}
	return r
}
