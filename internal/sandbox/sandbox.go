// Package sandbox confines a runner process. A runner hands untrusted ROMs
// and save states to an emulator core written in C, and a crafted file
// may take the core over; the sandbox keeps such a core to the game it
// runs: no network, no file but the core, its libraries and the game,
// nothing written, no new process, no signal to anyone else, bounded
// memory, and a short list of system calls.
//
// The confinement comes in layers, each on its own, so that where the
// kernel (or a container, or systemd) refuses one, the others still hold,
// and the report says which one is missing:
//
//   - network: a user and a network namespace of the process's own, with
//     no interface but a loopback that is down (Isolate, by the parent
//     that starts it);
//   - filesystem: Landlock, reading only the paths a Spec names, the
//     system's shared libraries and the program itself, writing nothing;
//     with a recent kernel also no TCP, no signal to processes outside
//     the sandbox and no abstract Unix socket;
//   - rlimits: data memory, no file written, no core dump, few open
//     files, and few processes where that limit counts only the
//     sandbox's own (in its own user namespace);
//   - no_new_privs: no exec can gain privileges (and the two layers
//     below need it when unprivileged);
//   - seccomp: an allow-list of system calls, every other refused with
//     EPERM: no socket but AF_UNIX, no fork or exec, signals only to
//     itself.
//
// Landlock confines the thread that asks and the threads it starts later,
// and a Go program has many threads before its first line runs. So Enter
// confines the calling thread and executes the program again from it: the
// new program starts confined, every thread of it. Its first act, Resume,
// adds the seccomp filter, which the kernel can put on every thread at
// once.
package sandbox

import (
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
)

// Layers is a set of the sandbox's layers.
type Layers uint8

// The layers, in the order Enter applies them.
const (
	Network Layers = 1 << iota
	Filesystem
	Rlimits
	NoNewPrivs
	Seccomp

	// All is every layer: the sandbox a runner gets by default.
	All = Network | Filesystem | Rlimits | NoNewPrivs | Seccomp
)

// name is a single layer's name, as settings and logs spell it.
func (l Layers) name() string {
	switch l {
	case Network:
		return "network"
	case Filesystem:
		return "filesystem"
	case Rlimits:
		return "rlimits"
	case NoNewPrivs:
		return "no_new_privs"
	case Seccomp:
		return "seccomp"
	}
	return fmt.Sprintf("layer(%#x)", uint8(l))
}

// Each yields the single layers of l, in the order of All.
func (l Layers) Each() iter.Seq[Layers] {
	return func(yield func(Layers) bool) {
		for one := Network; one <= Seccomp; one <<= 1 {
			if l&one != 0 && !yield(one) {
				return
			}
		}
	}
}

// String names the layers, separated by commas; "none" for none.
func (l Layers) String() string {
	if l == 0 {
		return "none"
	}
	var names []string
	for one := range l.Each() {
		names = append(names, one.name())
	}
	if rest := l &^ All; rest != 0 {
		names = append(names, rest.name())
	}
	return strings.Join(names, ",")
}

// ParseLayers reads what String writes.
func ParseLayers(s string) (Layers, error) {
	if s == "" || s == "none" {
		return 0, nil
	}
	var l Layers
	for _, name := range strings.Split(s, ",") {
		found := false
		for one := range All.Each() {
			if one.name() == strings.TrimSpace(name) {
				l |= one
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("sandbox: no layer %q", name)
		}
	}
	return l, nil
}

func (l Layers) MarshalText() ([]byte, error) {
	if l&^All != 0 {
		return nil, fmt.Errorf("sandbox: no layer %#x", uint8(l&^All))
	}
	return []byte(l.String()), nil
}

func (l *Layers) UnmarshalText(b []byte) error {
	parsed, err := ParseLayers(string(b))
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}

// Status says whether one layer is in force, and what it allows, or why
// it is not.
type Status struct {
	Layer  Layers `json:"layer"`
	On     bool   `json:"on"`
	Detail string `json:"detail,omitempty"`
}

// Why a layer is not in force, besides the kernel's refusals.
const (
	turnedOff = "turned off"
)

// Report is the state of every layer, in the order of All.
type Report []Status

// On is the set of layers in force.
func (r Report) On() Layers {
	var on Layers
	for _, s := range r {
		if s.On {
			on |= s.Layer
		}
	}
	return on
}

// Refused lists the layers that were asked for and are not in force:
// those the kernel, or whatever runs the process, refused.
func (r Report) Refused() []Status {
	var refused []Status
	for _, s := range r {
		if !s.On && s.Detail != turnedOff {
			refused = append(refused, s)
		}
	}
	return refused
}

// TurnedOff is the set of layers left out on purpose.
func (r Report) TurnedOff() Layers {
	var off Layers
	for _, s := range r {
		if !s.On && s.Detail == turnedOff {
			off |= s.Layer
		}
	}
	return off
}

func (r Report) String() string {
	b, err := json.Marshal(r)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// set records one layer's status, in its place.
func (r *Report) set(s Status) {
	for i := range *r {
		if (*r)[i].Layer == s.Layer {
			(*r)[i] = s
			return
		}
	}
	*r = append(*r, s)
	for i := len(*r) - 1; i > 0 && (*r)[i].Layer < (*r)[i-1].Layer; i-- {
		(*r)[i], (*r)[i-1] = (*r)[i-1], (*r)[i]
	}
}

// Spec says what a confined process may do beyond running its program.
type Spec struct {
	// Off are the layers left out: every one to debug without the
	// sandbox, some in tests of the others.
	Off Layers
	// Read are the files and folders the process may read (a folder with
	// everything below it), besides the system's shared libraries and
	// the program itself: a core, a game, a core's system folder. Paths
	// that do not exist are left out.
	Read []string
	// Memory bounds the process's data (RLIMIT_DATA: heap, thread stacks
	// and other private writable memory) in bytes; 0 means DefaultMemory.
	Memory uint64
}

// None is the report of a process left out of the sandbox: every layer
// turned off.
func None() Report {
	var r Report
	for l := range All.Each() {
		r = append(r, Status{Layer: l, Detail: turnedOff})
	}
	return r
}

// Environ is the part of env a confined process gets: what the dynamic
// loader, glibc and the Go runtime read, and nothing else. A service's
// environment holds its secrets (a worker's token, its storage keys),
// which a process that runs untrusted code needs not and must not have:
// a core taken over could write them into a save state, and its player
// download it.
func Environ(env []string) []string {
	keep := []string{"PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH",
		"GODEBUG", "GOTRACEBACK", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GORACE", "GOCOVERDIR"}
	var kept []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "LC_"), slices.Contains(keep, name):
			kept = append(kept, kv)
		}
	}
	return kept
}
