// Package library finds the games a worker can play: the bundled test ROM
// and every ROM in the configured folders whose extension a supported
// system plays.
package library

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/telecart/telecart/internal/cores"
	"github.com/telecart/telecart/internal/signal"
)

// MaxGames bounds a library, so a mistaken folder (a whole disk) cannot
// flood the coordinator and every browser with a list nobody can use.
const MaxGames = 5000

var ErrTooMany = errors.New("library: too many games")

// MaxSize is the largest ROM a game may be: libretro.MaxGameSize, which a
// runner refuses to load. A larger file is left out of the library rather
// than listed as a game that cannot start.
const MaxSize = 64 << 20

// maxListBytes bounds the library as the worker's register carries it,
// JSON included, with room left in a message for the rest of the
// register: a list too long for the message would have the coordinator
// refuse the whole worker.
const maxListBytes = signal.MaxMessage / 2

// Game is a game and the file it is in. ID is an opaque key, never a path:
// requests name games by ID and only the library turns that into a file.
type Game struct {
	signal.GameInfo
	Path string
}

// Library is a set of games, read-only once scanned.
type Library struct {
	games   []Game
	byID    map[string]Game
	leftOut []LeftOut
}

// LeftOut is a file in a games folder that is not in the library, and why.
type LeftOut struct {
	Path   string
	Reason string
}

// New makes a library of games, which must have distinct IDs.
func New(games ...Game) (*Library, error) {
	l := &Library{byID: map[string]Game{}}
	for _, g := range games {
		if _, dup := l.byID[g.ID]; dup {
			return nil, fmt.Errorf("library: two games with id %q", g.ID)
		}
		l.byID[g.ID] = g
		l.games = append(l.games, g)
	}
	sort.Slice(l.games, func(i, j int) bool {
		return strings.ToLower(l.games[i].Title) < strings.ToLower(l.games[j].Title)
	})
	return l, nil
}

// Scan makes a library of extra games (such as the bundled test ROM) plus
// every ROM below dirs. A folder that does not exist is skipped with a
// warning: a fresh install has no games folder yet. Every file it leaves
// out is logged with why, and kept (LeftOut): hidden files and folders,
// files no system plays, a second file with a name taken already, files
// that cannot be played (empty, or larger than MaxSize), and every file
// once the list is as long as a register can carry. One file must never
// cost a worker its other games.
func Scan(log *slog.Logger, dirs []string, extra ...Game) (*Library, error) {
	games := append([]Game(nil), extra...)
	seen := map[string]string{} // id: the file that has it
	listBytes := 0
	for _, g := range extra {
		seen[g.ID] = g.Path
		listBytes += listedSize(g.GameInfo)
	}
	var leftOut []LeftOut
	leave := func(level slog.Level, path, reason string) {
		log.Log(context.Background(), level, "library: leaving a file out", "path", path, "reason", reason)
		leftOut = append(leftOut, LeftOut{Path: path, Reason: reason})
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == dir {
					return err
				}
				leave(slog.LevelWarn, path, err.Error())
				return nil
			}
			if strings.HasPrefix(d.Name(), ".") && path != dir {
				leave(slog.LevelInfo, path, "hidden: its name starts with a dot")
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() {
				return nil
			}
			system, err := cores.ForFile(path)
			if err != nil {
				leave(slog.LevelInfo, path, "no system plays this file type")
				return nil
			}
			title, detail := Title(d.Name())
			g := Game{GameInfo: signal.GameInfo{ID: gameID(system.ID, d.Name()), Title: title, Detail: detail, System: system.ID}, Path: path}
			if first, dup := seen[g.ID]; dup {
				leave(slog.LevelWarn, path, "another file has the same name: "+first)
				return nil
			}
			if reason := unplayable(d); reason != "" {
				leave(slog.LevelWarn, path, reason)
				return nil
			}
			if len(games) >= MaxGames {
				return fmt.Errorf("%w: more than %d below %s", ErrTooMany, MaxGames, dir)
			}
			size := listedSize(g.GameInfo)
			if listBytes+size > maxListBytes {
				leave(slog.LevelWarn, path, "the list of games is as long as a worker can register")
				return nil
			}
			listBytes += size
			seen[g.ID] = path
			games = append(games, g)
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			log.Warn("library: folder not found", "dir", dir)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("library: scan %s: %w", dir, err)
		}
	}
	l, err := New(games...)
	if err != nil {
		return nil, err
	}
	l.leftOut = leftOut
	return l, nil
}

// unplayable says why the file of a ROM cannot be played, or "" when it can
// be tried.
func unplayable(d fs.DirEntry) string {
	info, err := d.Info()
	switch {
	case err != nil:
		return err.Error()
	case info.Size() == 0:
		return "the file is empty"
	case info.Size() > MaxSize:
		return fmt.Sprintf("the file is %d MiB, more than the %d MiB a game may be", info.Size()>>20, MaxSize>>20)
	}
	return ""
}

// listedSize is what a game adds to the register's list.
func listedSize(g signal.GameInfo) int {
	b, _ := json.Marshal(g) // never fails: plain strings
	return len(b) + 1       // and its comma
}

// Title makes a display title of a ROM's file name, and its detail: the
// dump tags ROM sets append in brackets ("(USA)", "(Rev 1)", "[!]"),
// which say which copy of a game a file is, not what game. A name that is
// nothing but tags keeps them as its title.
func Title(file string) (title, detail string) {
	t := strings.TrimSuffix(file, filepath.Ext(file))
	t = strings.Map(func(r rune) rune {
		if r == '_' || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, t)
	var tags []string
	for {
		t = strings.TrimSpace(t)
		closing := map[byte]byte{')': '(', ']': '['}
		if t == "" || closing[t[len(t)-1]] == 0 {
			break
		}
		open := strings.LastIndexByte(t, closing[t[len(t)-1]])
		if open <= 0 {
			break // the whole name is in brackets: keep it
		}
		if tag := strings.TrimSpace(t[open+1 : len(t)-1]); tag != "" {
			tags = append([]string{tag}, tags...)
		}
		t = t[:open]
	}
	t = strings.TrimSpace(strings.ReplaceAll(t, ".", " "))
	if t == "" {
		return strings.TrimSpace(strings.ReplaceAll(strings.TrimSuffix(file, filepath.Ext(file)), "_", " ")), ""
	}
	return strings.Join(strings.Fields(t), " "), strings.Join(tags, " · ")
}

// gameID is the id of the game of system in the file name: the system and
// the name. A name that no message could carry (longer than an id may be,
// or with control characters: both are common in real ROM sets) gets a
// printable beginning of itself and a hash of all of it instead, an id as
// stable as the name and its own.
func gameID(system, name string) string {
	id := system + ":" + name
	if signal.ValidID(id) {
		return id
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "~" + hex.EncodeToString(sum[:8])
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '_'
		}
		return r
	}, strings.ToValidUTF8(name, "_"))
	keep := min(len(clean), signal.MaxID-len(system)-1-len(suffix))
	for keep > 0 && keep < len(clean) && !utf8.RuneStart(clean[keep]) {
		keep-- // not in the middle of a character
	}
	return system + ":" + clean[:keep] + suffix
}

// Games lists the library, sorted by title.
func (l *Library) Games() []Game { return l.games }

// LeftOut lists the files Scan found and left out, and why, in the order
// it found them.
func (l *Library) LeftOut() []LeftOut { return l.leftOut }

// Infos lists the library as the protocol describes games.
func (l *Library) Infos() []signal.GameInfo {
	infos := make([]signal.GameInfo, len(l.games))
	for i, g := range l.games {
		infos[i] = g.GameInfo
	}
	return infos
}

// Lookup finds a game by ID.
func (l *Library) Lookup(id string) (Game, bool) {
	g, ok := l.byID[id]
	return g, ok
}

// DefaultDir is where Telecart looks for games when no folder is
// configured: $XDG_DATA_HOME/telecart/games, usually ~/.local/share/telecart/games.
func DefaultDir() string {
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return filepath.Join(dir, "telecart", "games")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "telecart", "games")
	}
	return filepath.Join(home, ".local", "share", "telecart", "games")
}
