package fixturetest

import "fmt"

// LoopROM is the smallest game a system's core accepts: a valid
// cartridge whose program loops on itself, built here, for the systems
// that have neither the test ROM nor a shared homebrew ("gb", "snes",
// "pce"). It proves a core loads, runs and draws frames, and gives it a
// state to save, not a game to play.
func LoopROM(system string) []byte {
	switch system {
	case "gb":
		return gameBoyROM()
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
