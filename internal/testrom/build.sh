#!/bin/sh
# Builds testrom.nes from src/ with cc65's assembler and linker.
# Usage: sh build.sh (from any directory). Needs ca65 and ld65 (Debian: cc65).
set -eu

dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

ca65 --target none -o "$tmp/testrom.o" "$dir/src/testrom.s"
ld65 -C "$dir/src/nrom.cfg" -o "$tmp/testrom.nes" "$tmp/testrom.o"
# Move into place only after a successful link, so a failed build never
# leaves a truncated ROM behind.
mv "$tmp/testrom.nes" "$dir/testrom.nes"
