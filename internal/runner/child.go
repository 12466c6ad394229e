package runner

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"golang.org/x/sys/unix"

	"github.com/telecart/telecart/internal/runner/wire"
	"github.com/telecart/telecart/internal/sandbox"
)

// Child serves the runner protocol on the socket its parent passed in, for
// the `telecart runner` command, in the sandbox its config asks for. Logs
// go to stderr as JSON, which the parent's logWriter reads back.
//
// A runner runs twice: the first time it reads its config (the Start
// message), confines itself as far as a thread can carry through exec
// (sandbox.Enter), and executes itself again; the second time it finishes
// its sandbox (sandbox.Resume) and only then loads the core and the game.
func Child(ctx context.Context) error { return child(ctx, nil) }

// ChildProbe is Child with probe called in the sandbox, before the core
// and the game are loaded: how test support (runnertest) tries what a
// core taken over might try. Nothing in the telecart program calls it.
func ChildProbe(ctx context.Context, probe func(*slog.Logger)) error { return child(ctx, probe) }

func child(ctx context.Context, probe func(*slog.Logger)) error {
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if _, err := unix.GetsockoptInt(childFD, unix.SOL_SOCKET, unix.SO_TYPE); err != nil {
		return fmt.Errorf("runner: no socket on fd %d (the runner is started by a worker, not by hand): %w", childFD, err)
	}
	socket := os.NewFile(childFD, "runner-socket")
	carry, report, resumed, err := sandbox.Resume()
	if err != nil {
		return fatal(socket, fmt.Errorf("runner: %w", err))
	}
	// start is the Start message, already read from the socket: by the
	// first run of this program, which carried it here, or just now.
	var start io.Reader
	if resumed {
		defer carry.Close()
		start = carry
	} else {
		frame, cfg, prepare, err := readStart(socket)
		if err != nil {
			return fatal(socket, err)
		}
		if prepare != nil {
			// A pool's runner, confined before its game is known: the
			// program executed next answers the Prepare it carries, then
			// reads Start from the socket itself.
			err := sandbox.Enter(*prepare, frame)
			return fatal(socket, fmt.Errorf("runner: %w", err))
		}
		if cfg != nil && cfg.Unsandboxed != sandbox.All {
			err := sandbox.Enter(cfg.sandbox(), frame)
			return fatal(socket, fmt.Errorf("runner: %w", err))
		}
		// Without a sandbox, or with a config that serve refuses before
		// it loads anything.
		start, report = bytes.NewReader(frame), sandbox.None()
		if cfg == nil {
			report = nil // nothing to say of a sandbox for a game that will not run
		}
	}
	conn, err := net.FileConn(socket)
	socket.Close()
	if err != nil {
		return fmt.Errorf("runner: no socket on fd %d (the runner is started by a worker, not by hand): %w", childFD, err)
	}
	for _, s := range report.Refused() {
		log.Warn("runner: a layer of the sandbox is missing; running without it", "layer", s.Layer, "why", s.Detail)
	}
	if off := report.TurnedOff(); off != 0 {
		log.Warn("runner: layers of the sandbox turned off", "layers", off)
	}
	log.Debug("runner: sandbox", "on", report.On(), "report", report)
	if probe != nil {
		probe(log)
	}
	return serveWith(ctx, startConn{io.MultiReader(start, conn), conn}, log, report)
}

// startConn reads the Start message first, then the connection.
type startConn struct {
	io.Reader
	net.Conn
}

func (c startConn) Read(b []byte) (int, error) { return c.Reader.Read(b) }

// readStart reads the first message from the socket, and not a byte more:
// what follows is for the program the sandbox executes. The message is a
// Start, whose config is nil when it is not valid, which serve reports;
// or a Prepare, whose sandbox spec comes back as prepare.
func readStart(r io.Reader) (frame []byte, cfg *Config, prepare *sandbox.Spec, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, nil, nil, fmt.Errorf("runner: read start: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > wire.MaxFrame {
		return nil, nil, nil, fmt.Errorf("runner: read start: %w: %d bytes", wire.ErrMalformed, n)
	}
	frame = make([]byte, 4+n)
	copy(frame, hdr[:])
	if _, err := io.ReadFull(r, frame[4:]); err != nil {
		return nil, nil, nil, fmt.Errorf("runner: read start: %w", err)
	}
	switch wire.Type(frame[4]) {
	case wire.TypePrepare:
		var spec sandbox.Spec
		if err := json.Unmarshal(frame[5:], &spec); err != nil {
			return nil, nil, nil, fmt.Errorf("runner: read prepare: %w: %w", wire.ErrMalformed, err)
		}
		return frame, nil, &spec, nil
	case wire.TypeStart:
		var c Config
		if json.Unmarshal(frame[5:], &c) != nil || c.Validate() != nil {
			return frame, nil, nil, nil
		}
		return frame, &c, nil, nil
	}
	return frame, nil, nil, nil
}

// fatal tells the parent why the runner is exiting before it could serve,
// as serve does, and returns err.
func fatal(socket *os.File, err error) error {
	// Best effort: the parent may be the reason we are failing.
	_ = wire.NewWriter(socket).Send(wire.Fatal{Error: err.Error()})
	return err
}
