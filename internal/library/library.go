// Package library finds the games a worker can play: the bundled test ROM
// and every ROM in the configured folders whose extension a supported
// system plays.
package library

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

var (
	ErrTooMany  = errors.New("library: too many games")
	ErrTooLarge = errors.New("library: the game is larger than a game may be")
	// ErrUnpack marks a zipped game whose ROM could not be unpacked.
	ErrUnpack = errors.New("library: cannot unpack the game")
	// ErrNoArt: the game has no picture file.
	ErrNoArt = errors.New("library: the game has no picture")
)

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
	// Entry, when Path is a .zip archive, is the ROM's name in it: ROM
	// sets come zipped, a game to a file.
	Entry string
	// Art is its picture file, if it has one; GameInfo.Art is then its
	// version.
	Art Art
}

// File is the name the game's ROM goes by: its system and its run-ahead
// are told by it.
func (g Game) File() string {
	if g.Entry != "" {
		return g.Entry
	}
	return g.Path
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
	return ScanWith(log, Options{Dirs: dirs}, extra...)
}

// Options say where Scan looks.
type Options struct {
	// Dirs are the games folders.
	Dirs []string
	// Thumbnails is a libretro thumbnail set (a folder of system folders,
	// each with Named_Boxarts, Named_Titles, Named_Snaps) for every games
	// folder; empty, each games folder's own ThumbnailsFolder, if it has
	// one.
	Thumbnails string
}

// ScanWith is Scan with options. Besides the games, it finds each game's
// picture (findArt): a picture file named as the ROM beside it, or one in
// the thumbnail set. Picture files are art, not games, and never listed
// as left out, but for a game's picture that is too large or not a
// picture.
func ScanWith(log *slog.Logger, o Options, extra ...Game) (*Library, error) {
	dirs := o.Dirs
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
		thumbs := o.Thumbnails
		own := filepath.Join(dir, ThumbnailsFolder)
		if thumbs == "" {
			if info, err := os.Stat(own); err == nil && info.IsDir() {
				thumbs = own
			}
		}
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
			if d.IsDir() && (path == own || path == o.Thumbnails) {
				return filepath.SkipDir // art, not games
			}
			if !d.Type().IsRegular() || isArtFile(d.Name()) {
				return nil
			}
			rom, system, romSize, reason := romOf(path, d)
			if reason != "" {
				level := slog.LevelWarn
				if rom == "" {
					level = slog.LevelInfo // not meant as a game at all
				}
				leave(level, path, reason)
				return nil
			}
			title, detail := Title(d.Name())
			g := Game{GameInfo: signal.GameInfo{ID: gameID(system.ID, d.Name()), Title: title, Detail: detail, System: system.ID}, Path: path}
			if rom != path {
				g.Entry = rom
			}
			if first, dup := seen[g.ID]; dup {
				leave(slog.LevelWarn, path, "another file has the same name: "+first)
				return nil
			}
			if reason := unplayableSize(romSize); reason != "" {
				leave(slog.LevelWarn, path, reason)
				return nil
			}
			if len(games) >= MaxGames {
				return fmt.Errorf("%w: more than %d below %s", ErrTooMany, MaxGames, dir)
			}
			art, bad := findArt(g, thumbs)
			for _, b := range bad {
				leave(slog.LevelWarn, b.Path, b.Reason)
			}
			g.Art, g.GameInfo.Art = art, art.Version
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

// romOf is the ROM in the file at path, the system that plays it and its
// size: the file itself, or the one ROM in a .zip archive, by its name
// there. reason says why there is none to play, with rom "" when the file
// is no game's at all.
func romOf(path string, d fs.DirEntry) (rom string, system cores.System, size int64, reason string) {
	info, err := d.Info()
	if err != nil {
		return path, system, 0, err.Error()
	}
	if !strings.EqualFold(filepath.Ext(path), ".zip") {
		system, err := cores.ForFile(path)
		if err != nil {
			return "", system, 0, "no system plays this file type"
		}
		return path, system, info.Size(), ""
	}
	z, err := zip.OpenReader(path)
	if err != nil {
		return path, system, 0, fmt.Sprintf("not a zip archive that can be read: %v", err)
	}
	defer z.Close()
	var roms []*zip.File
	for _, f := range z.File {
		if s, err := cores.ForFile(f.Name); err == nil && f.Mode().IsRegular() {
			roms, system = append(roms, f), s
		}
	}
	switch len(roms) {
	case 0:
		return "", system, 0, "the archive holds no game a system here plays"
	case 1:
		return roms[0].Name, system, int64(roms[0].UncompressedSize64), ""
	}
	return path, system, 0, fmt.Sprintf("the archive holds %d games; zip each on its own", len(roms))
}

// unplayableSize says why a ROM of size bytes cannot be played, or ""
// when it can be tried.
func unplayableSize(size int64) string {
	switch {
	case size == 0:
		return "the file is empty"
	case size > MaxSize:
		return fmt.Sprintf("the file is %d MiB, more than the %d MiB a game may be", size>>20, MaxSize>>20)
	}
	return ""
}

// Unzip writes the ROM of a zipped game to a file in dir, once, and
// returns its path: a core reads its game from a file. What the archive
// says of the size is not trusted: no more than MaxSize is written.
func Unzip(g Game, dir string) (string, error) {
	if g.Entry == "" {
		return g.Path, nil
	}
	sum := sha256.Sum256([]byte(g.ID))
	path := filepath.Join(dir, hex.EncodeToString(sum[:12])+strings.ToLower(filepath.Ext(g.Entry)))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	z, err := zip.OpenReader(g.Path)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnpack, g.Path, err)
	}
	defer z.Close()
	src, err := z.Open(g.Entry)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnpack, g.Path, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp(dir, "unzip-*")
	if err != nil {
		return "", fmt.Errorf("library: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone once renamed
	n, err := io.Copy(tmp, io.LimitReader(src, MaxSize+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: %s: %w", ErrUnpack, g.Path, err)
	case n > MaxSize:
		return "", fmt.Errorf("library: unzip %s: %w", g.Path, ErrTooLarge)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("library: %w", err)
	}
	return path, nil
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
		if t == "" || (t[len(t)-1] != ')' && t[len(t)-1] != ']') {
			break
		}
		opening := byte('(')
		if t[len(t)-1] == ']' {
			opening = '['
		}
		open := strings.LastIndexByte(t, opening)
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
