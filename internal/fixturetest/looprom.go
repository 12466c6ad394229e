package fixturetest

import (
	"fmt"
	"testing"

	"github.com/telecart/telecart/internal/cores"
)

// LoopROM is the smallest game a system's core accepts: a valid
// cartridge whose program loops on itself, built here, for every system
// but the NES, which has the test ROM ("gb", "gba", "snes", "pce"). It proves a core loads, runs and draws frames, and gives it a
// state to save, not a game to play.
func LoopROM(system string) []byte {
	switch system {
	case "gb":
		return gameBoyROM()
	case "gba":
		return gbaROM()
	case "snes":
		return snesROM()
	case "pce":
		return pceROM()
	}
	panic(fmt.Sprintf("fixturetest: no loop ROM for %q", system))
}

// gameBoyROM is 32 KiB of ROM-only cartridge whose program jumps to itself.
func gameBoyROM() []byte {
	rom := make([]byte, 32<<10)
	copy(rom[0x100:], []byte{0x00, 0xC3, 0x50, 0x01}) // nop; jp $0150
	copy(rom[0x134:], "TELECART")
	var sum byte
	for _, b := range rom[0x134:0x14D] {
		sum = sum - b - 1
	}
	rom[0x14D] = sum
	copy(rom[0x150:], []byte{0x18, 0xFE}) // jr -2
	return rom
}

// gbaROM is 4 KiB of cartridge whose first instruction branches to
// itself, with the header's fixed byte and checksum.
func gbaROM() []byte {
	rom := make([]byte, 4<<10)
	copy(rom, []byte{0xFE, 0xFF, 0xFF, 0xEA}) // b .
	copy(rom[0xA0:], "TELECART")
	copy(rom[0xAC:], "TCRT")
	rom[0xB2] = 0x96
	var sum byte
	for _, b := range rom[0xA0:0xBD] {
		sum -= b
	}
	rom[0xBD] = sum - 0x19
	return rom
}

// snesROM is a 32 KiB LoROM whose reset handler branches to itself.
func snesROM() []byte {
	rom := make([]byte, 32<<10)
	copy(rom[0x0000:], []byte{0x78, 0x18, 0xFB, 0x80, 0xFE}) // sei; clc; xce; bra -2
	copy(rom[0x7FC0:], "TELECART TEST        ")
	rom[0x7FD5] = 0x20 // LoROM
	rom[0x7FD7] = 0x05 // 32 KiB
	var sum uint16
	for _, b := range rom {
		sum += uint16(b)
	}
	sum += 2 * 0xFF // checksum bytes count as 0xFFFF + 0x0000 while summing
	rom[0x7FDC], rom[0x7FDD] = byte(^sum), byte(^sum>>8)
	rom[0x7FDE], rom[0x7FDF] = byte(sum), byte(sum>>8)
	rom[0x7FFC], rom[0x7FFD] = 0x00, 0x80 // reset vector $8000
	return rom
}

// pceROM is an 8 KiB HuCard whose reset handler branches to itself.
func pceROM() []byte {
	rom := make([]byte, 8<<10)
	copy(rom, []byte{0x78, 0x80, 0xFE})   // sei; bra -2
	rom[0x1FFE], rom[0x1FFF] = 0x00, 0xE0 // reset vector $E000
	return rom
}

// Game writes a game of the system to a file for one test and returns
// its path: the test ROM for the NES, LoopROM for the others.
func Game(t testing.TB, system string) string {
	t.Helper()
	if system == "nes" {
		return TestROM(t)
	}
	for _, s := range cores.Systems() {
		if s.ID == system {
			return File(t, "loop."+s.Extensions[0], LoopROM(system))
		}
	}
	t.Fatalf("fixturetest: no system %q", system)
	return ""
}
