package library

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/telecart/telecart/internal/libretro"
	"github.com/telecart/telecart/internal/signal"
)

func TestScan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"Super_Game.nes":              "rom",
		"gba/Quest.gba":               "rom",
		"gba/nested/deeper/Puzzle.gb": "rom",
		"notes.txt":                   "text",
		".hidden/Secret.nes":          "rom",
		"other/Super_Game.nes":        "a second file of the same name",
		"Empty.nes":                   "",
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Too large to be a game: sparse, so it costs no disk.
	if err := os.Truncate(filepath.Join(dir, "Empty.nes"), 0); err != nil {
		t.Fatal(err)
	}
	huge, err := os.Create(filepath.Join(dir, "gba/Huge.gba"))
	if err != nil {
		t.Fatal(err)
	}
	if err := huge.Truncate(MaxSize + 1); err != nil {
		t.Fatal(err)
	}
	huge.Close()
	builtin := Game{GameInfo: signal.GameInfo{ID: "nes:telecart-test.nes", Title: "Telecart Test ROM", System: "nes"}, Path: "/x/telecart-test.nes"}
	l, err := Scan(slog.New(slog.DiscardHandler), []string{dir, filepath.Join(dir, "missing")}, builtin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range l.Games() {
		got = append(got, g.ID+" "+g.Title)
	}
	want := []string{"gb:Puzzle.gb Puzzle", "gba:Quest.gba Quest", "nes:Super_Game.nes Super Game", "nes:telecart-test.nes Telecart Test ROM"}
	if len(got) != len(want) {
		t.Fatalf("games %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("games %q, want %q", got, want)
		}
	}
	// Every file left out is kept with why, for the log and telecart games.
	wantLeft := map[string]string{
		".hidden":              "hidden",
		"notes.txt":            "no system plays this file type",
		"other/Super_Game.nes": "another file has the same name: " + filepath.Join(dir, "Super_Game.nes"),
		"Empty.nes":            "the file is empty",
		"gba/Huge.gba":         "more than the 64 MiB a game may be",
	}
	left := map[string]string{}
	for _, o := range l.LeftOut() {
		rel, _ := filepath.Rel(dir, o.Path)
		left[rel] = o.Reason
	}
	if len(left) != len(wantLeft) {
		t.Errorf("left out %q, want %d files", left, len(wantLeft))
	}
	for path, why := range wantLeft {
		if !strings.Contains(left[path], why) {
			t.Errorf("%s left out for %q, want %q", path, left[path], why)
		}
	}
	g, ok := l.Lookup("gba:Quest.gba")
	if !ok || g.Path != filepath.Join(dir, "gba/Quest.gba") {
		t.Fatalf("Lookup = %+v, %v", g, ok)
	}
	for _, id := range []string{"../etc/passwd", "gba:../Quest.gba", "Quest.gba", ""} {
		if _, ok := l.Lookup(id); ok {
			t.Errorf("Lookup(%q) found a game", id)
		}
	}
}

func TestScanErrors(t *testing.T) {
	t.Parallel()
	if _, err := New(Game{GameInfo: signal.GameInfo{ID: "a"}}, Game{GameInfo: signal.GameInfo{ID: "a"}}); err == nil {
		t.Error("New accepted two games with one id")
	}
	dir := t.TempDir()
	for i := range MaxGames + 1 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("game%d.nes", i)), []byte("rom"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Scan(slog.New(slog.DiscardHandler), []string{dir}); !errors.Is(err, ErrTooMany) {
		t.Fatalf("scan of %d games: %v, want ErrTooMany", MaxGames+1, err)
	}
}

// TestScanNamesOfRealSets: names longer than an id may be, and names with
// a tab, are common in real ROM sets. Each such game is listed with an id
// a worker's register can carry, its own (two names alike in their first
// hundred bytes stay two games) and the same on every scan, so that saves
// find it again.
// TestScanFitsTheRegister: however long the names, a worker's list of
// games fits in the message that registers it, so no set of files can have
// the coordinator refuse the worker.
func TestScanFitsTheRegister(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Names as long as a file's may be, of characters JSON escapes.
	name := strings.Repeat("<&>", 80)
	for i := range MaxGames {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%04d.nes", name, i)), []byte("rom"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := Scan(slog.New(slog.DiscardHandler), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(l.Games()); n == 0 || n == MaxGames {
		t.Fatalf("%d games listed of %d: want some, and not all", n, MaxGames)
	}
	reg := signal.Register{ID: "w", Capacity: 4, Games: l.Infos(), Ping: "http://127.0.0.1:1/ping"}
	msg, err := signal.Encode("", reg)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg) > signal.MaxMessage {
		t.Fatalf("register of %d games is %d bytes, more than a message's %d", len(l.Games()), len(msg), signal.MaxMessage)
	}
	if _, _, err := signal.Decode(msg); err != nil {
		t.Fatalf("the coordinator would refuse the register: %v", err)
	}
}

// TestMaxSizeIsTheRunners: the library leaves out exactly what a runner
// would refuse to load.
func TestMaxSizeIsTheRunners(t *testing.T) {
	if MaxSize != libretro.MaxGameSize {
		t.Fatalf("library.MaxSize %d, libretro.MaxGameSize %d", MaxSize, libretro.MaxGameSize)
	}
}

func TestScanNamesOfRealSets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	long := strings.Repeat("Legend of the Very Long Title (USA, Europe) (Rev 1) ", 4)
	names := []string{long + "[!].nes", long + "[b1].nes", "Tab\tin name.nes", "Not \xffUTF-8.nes", "Ünïcödé " + strings.Repeat("é", 70) + ".nes"}
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("rom"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scan := func() []signal.GameInfo {
		l, err := Scan(slog.New(slog.DiscardHandler), []string{dir})
		if err != nil {
			t.Fatal(err)
		}
		return l.Infos()
	}
	games := scan()
	if len(games) != len(names) {
		t.Fatalf("%d games listed, want %d: %+v", len(games), len(names), games)
	}
	ids := map[string]bool{}
	for _, g := range games {
		if !signal.ValidID(g.ID) || !utf8.ValidString(g.ID) || !strings.HasPrefix(g.ID, "nes:") {
			t.Errorf("game id %q cannot name a game in a message", g.ID)
		}
		if strings.ContainsFunc(g.Title, unicode.IsControl) {
			t.Errorf("title %q has control characters", g.Title)
		}
		ids[g.ID] = true
	}
	if len(ids) != len(names) {
		t.Errorf("%d ids for %d games: %v", len(ids), len(names), ids)
	}
	if again := scan(); !slices.Equal(again, games) {
		t.Errorf("a second scan gave other ids:\n%+v\n%+v", again, games)
	}
	// What the coordinator checks of a worker's register.
	if _, err := signal.Encode("", signal.Register{ID: "w", Capacity: 1, Games: games}); err != nil {
		t.Errorf("a register of these games: %v", err)
	}
}

// TestTitle: a file name's dump tags become the game's detail, and the
// rest its title.
func TestTitle(t *testing.T) {
	tests := []struct{ file, title, detail string }{
		{"cpu_instrs.gb", "cpu instrs", ""},
		{"Alwa's Awakening (Demo).nes", "Alwa's Awakening", "Demo"},
		{"Legend of Zelda, The (USA) (Rev 1) [!].nes", "Legend of Zelda, The", "USA · Rev 1 · !"},
		{"Super Mario Bros. 3 (Europe) (Rev 1.1).nes", "Super Mario Bros 3", "Europe · Rev 1.1"},
		{"super.mario.bros.nes", "super mario bros", ""},
		{"Game (Beta) ().nes", "Game", "Beta"},
		{"(USA).nes", "(USA)", ""},
		{"[BIOS] (Japan).pce", "[BIOS]", "Japan"},
		{"Tab\tin name.nes", "Tab in name", ""},
	}
	for _, tt := range tests {
		title, detail := Title(tt.file)
		if title != tt.title || detail != tt.detail {
			t.Errorf("Title(%q) = %q, %q; want %q, %q", tt.file, title, detail, tt.title, tt.detail)
		}
	}
}

// writeZip makes a zip archive of files at path.
func writeZip(t *testing.T, path string, files map[string][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	for name, data := range files {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestScanZips: a zip archive with one ROM in it is a game, named after
// the archive; any other zip is left out, with why. Its ROM comes out of
// it once, into a file a core can read.
func TestScanZips(t *testing.T) {
	dir := t.TempDir()
	rom := []byte("NES\x1a a game")
	writeZip(t, filepath.Join(dir, "Zipped Game (USA).zip"), map[string][]byte{"Zipped Game (USA).nes": rom})
	writeZip(t, filepath.Join(dir, "Two.zip"), map[string][]byte{"a.nes": rom, "b.gb": rom})
	writeZip(t, filepath.Join(dir, "Docs.zip"), map[string][]byte{"readme.txt": []byte("hello")})
	writeZip(t, filepath.Join(dir, "Empty.zip"), map[string][]byte{"empty.gb": nil})
	if err := os.WriteFile(filepath.Join(dir, "Broken.zip"), []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Scan(slog.New(slog.DiscardHandler), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	games := l.Games()
	if len(games) != 1 {
		t.Fatalf("games %+v, want the one zipped game", games)
	}
	g := games[0]
	if g.ID != "nes:Zipped Game (USA).zip" || g.Title != "Zipped Game" || g.Detail != "USA" || g.System != "nes" || g.Entry != "Zipped Game (USA).nes" {
		t.Errorf("the zipped game: %+v", g)
	}
	wantLeft := map[string]string{
		"Two.zip":    "holds 2 games",
		"Docs.zip":   "holds no game",
		"Empty.zip":  "the file is empty",
		"Broken.zip": "not a zip archive",
	}
	left := map[string]string{}
	for _, o := range l.LeftOut() {
		left[filepath.Base(o.Path)] = o.Reason
	}
	for name, why := range wantLeft {
		if !strings.Contains(left[name], why) {
			t.Errorf("%s left out for %q, want %q", name, left[name], why)
		}
	}

	out := t.TempDir()
	path, err := Unzip(g, out)
	if err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || !bytes.Equal(data, rom) {
		t.Fatalf("unzipped %q: %q, %v", path, data, err)
	}
	if filepath.Ext(path) != ".nes" {
		t.Errorf("unzipped to %s: the core needs the ROM's extension", path)
	}
	if again, err := Unzip(g, out); err != nil || again != path {
		t.Errorf("a second unzip: %s, %v; want %s once", again, err, path)
	}
	if plain, err := Unzip(Game{Path: "/games/x.nes"}, out); err != nil || plain != "/games/x.nes" {
		t.Errorf("a game not zipped: %s, %v", plain, err)
	}
}

// TestUnzipBounded: an archive's ROM larger than a game may be is not
// written past the bound, whatever the archive says of its size.
func TestUnzipBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Big.zip")
	writeZip(t, path, map[string][]byte{"big.nes": make([]byte, MaxSize+1)})
	_, err := Unzip(Game{GameInfo: signal.GameInfo{ID: "nes:Big.zip"}, Path: path, Entry: "big.nes"}, t.TempDir())
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("unzip of %d bytes: %v, want ErrTooLarge", MaxSize+1, err)
	}
}
