package browsertest

import (
	"fmt"
	"sort"
	"strings"
)

// keyDef describes one physical key of a US keyboard the way Chromium's
// Input.dispatchKeyEvent needs it, so that the page sees the KeyboardEvent a
// real keyboard would produce: key, code, keyCode (the Windows virtual key
// code, which Chromium reports on every platform) and location.
type keyDef struct {
	key      string // KeyboardEvent.key without Shift
	shiftKey string // KeyboardEvent.key with Shift; empty if the same
	vk       int64  // windowsVirtualKeyCode, which becomes KeyboardEvent.keyCode
	text     string // text the key types without Shift; empty for none
	location int64  // 1 left, 2 right, 0 standard
	modifier int64  // CDP modifier bit this key holds: Alt 1, Ctrl 2, Meta 4, Shift 8
}

// CDP modifier bits.
const (
	modAlt   = 1
	modCtrl  = 2
	modMeta  = 4
	modShift = 8
)

// keyTable maps KeyboardEvent.code to the key. Built by a function, not kept
// in a package variable, so that no state is shared between tests.
func keyTable() map[string]keyDef {
	keys := map[string]keyDef{
		"ArrowLeft":    {key: "ArrowLeft", vk: 37},
		"ArrowUp":      {key: "ArrowUp", vk: 38},
		"ArrowRight":   {key: "ArrowRight", vk: 39},
		"ArrowDown":    {key: "ArrowDown", vk: 40},
		"Enter":        {key: "Enter", vk: 13, text: "\r"},
		"Space":        {key: " ", vk: 32, text: " "},
		"Escape":       {key: "Escape", vk: 27},
		"Tab":          {key: "Tab", vk: 9},
		"Backspace":    {key: "Backspace", vk: 8},
		"ShiftLeft":    {key: "Shift", vk: 16, location: 1, modifier: modShift},
		"ShiftRight":   {key: "Shift", vk: 16, location: 2, modifier: modShift},
		"ControlLeft":  {key: "Control", vk: 17, location: 1, modifier: modCtrl},
		"ControlRight": {key: "Control", vk: 17, location: 2, modifier: modCtrl},
		"AltLeft":      {key: "Alt", vk: 18, location: 1, modifier: modAlt},
		"AltRight":     {key: "Alt", vk: 18, location: 2, modifier: modAlt},
		"MetaLeft":     {key: "Meta", vk: 91, location: 1, modifier: modMeta},
		"MetaRight":    {key: "Meta", vk: 92, location: 2, modifier: modMeta},
	}
	for c := 'A'; c <= 'Z'; c++ {
		lower, upper := strings.ToLower(string(c)), string(c)
		keys["Key"+upper] = keyDef{key: lower, shiftKey: upper, vk: int64(c), text: lower}
	}
	for n := 1; n <= 12; n++ {
		f := fmt.Sprintf("F%d", n)
		keys[f] = keyDef{key: f, vk: int64(111 + n)}
	}
	const shifted = ")!@#$%^&*(" // Shift+0 … Shift+9 on a US layout
	for d := '0'; d <= '9'; d++ {
		s := string(d)
		keys["Digit"+s] = keyDef{key: s, shiftKey: string(shifted[d-'0']), vk: int64(d), text: s}
	}
	return keys
}

// lookupKey returns the key for a KeyboardEvent.code such as "KeyZ".
func lookupKey(keys map[string]keyDef, code string) (keyDef, error) {
	k, ok := keys[code]
	if !ok {
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		return keyDef{}, fmt.Errorf("unknown key code %q: want a KeyboardEvent.code, one of %s", code, strings.Join(names, " "))
	}
	return k, nil
}

// forModifiers returns the key and text the key produces while modifiers are
// held: Shift picks the shifted character, and Ctrl, Alt or Meta type no
// text at all (Ctrl+Z is a shortcut, not a "z").
func (k keyDef) forModifiers(modifiers int64) (key, text string) {
	key, text = k.key, k.text
	if modifiers&modShift != 0 && k.shiftKey != "" {
		key = k.shiftKey
		if text != "" {
			text = k.shiftKey
		}
	}
	if modifiers&(modCtrl|modAlt|modMeta) != 0 {
		text = ""
	}
	return key, text
}
