// Which keyboard keys and gamepad buttons press which button of the
// console, per system, and the player's changes to them (kept in the
// browser by prefs.js). Pure: input.js reads the tables made here, and
// the help dialog draws and edits them.
//
// Keys are physical keys (KeyboardEvent.code), so a map keeps its shape on
// any layout. Gamepad buttons are indexes of the standard mapping, where
// the defaults go by position, as RetroArch's do: the bottom face button is
// B whatever is printed on it. A key or a pad button presses one button at
// most: binding it to another takes it from the first.

/** Button bits: libretro RETRO_DEVICE_ID_JOYPAD_* ids. */
export const BUTTON = Object.freeze({
  B: 0, Y: 1, SELECT: 2, START: 3, UP: 4, DOWN: 5, LEFT: 6, RIGHT: 7,
  A: 8, X: 9, L: 10, R: 11, L2: 12, R2: 13, L3: 14, R3: 15,
});

const DPAD = ['UP', 'DOWN', 'LEFT', 'RIGHT'];

// The buttons each console has, in the order the dialog lists them, and
// their names where the console prints others than libretro's.
const CONSOLES = {
  nes: { buttons: [...DPAD, 'A', 'B', 'START', 'SELECT'] },
  gb: { buttons: [...DPAD, 'A', 'B', 'START', 'SELECT'] },
  gba: { buttons: [...DPAD, 'A', 'B', 'L', 'R', 'START', 'SELECT'] },
  snes: { buttons: [...DPAD, 'A', 'B', 'X', 'Y', 'L', 'R', 'START', 'SELECT'] },
  pce: { buttons: [...DPAD, 'A', 'B', 'START', 'SELECT'], names: { A: 'I', B: 'II', START: 'Run' } },
};

const NAMES = { UP: 'Up', DOWN: 'Down', LEFT: 'Left', RIGHT: 'Right', START: 'Start', SELECT: 'Select' };

/** The systems that have bindings, in the dialog's order. */
export const BOUND_SYSTEMS = Object.freeze(Object.keys(CONSOLES));

/** A system's buttons in the dialog's order; an unknown system gets the Super Nintendo's, which has them all. */
export function buttonsOf(system) {
  return (CONSOLES[system] ?? CONSOLES.snes).buttons;
}

/** The button's name on this console: "I" for a PC Engine's A. */
export function buttonName(system, button) {
  return CONSOLES[system]?.names?.[button] ?? NAMES[button] ?? button;
}

const DEFAULT_KEYS = Object.freeze({
  UP: ['ArrowUp'], DOWN: ['ArrowDown'], LEFT: ['ArrowLeft'], RIGHT: ['ArrowRight'],
  A: ['KeyX'], B: ['KeyZ'], X: ['KeyS'], Y: ['KeyA'], L: ['KeyQ'], R: ['KeyW'],
  START: ['Enter', 'NumpadEnter'], SELECT: ['ShiftLeft', 'ShiftRight'],
});

// Standard-mapping indexes: 0 bottom, 1 right, 2 left, 3 top, 4/5
// shoulders, 6/7 triggers, 8 back, 9 start, 10/11 stick presses, 12-15 d-pad.
const DEFAULT_PAD = Object.freeze({
  B: [0], A: [1], Y: [2], X: [3], L: [4], R: [5], L2: [6], R2: [7],
  SELECT: [8], START: [9], L3: [10], R3: [11], UP: [12], DOWN: [13], LEFT: [14], RIGHT: [15],
});

/** The most gamepad buttons a map may name: the standard mapping has 17. */
export const PAD_BUTTONS = 32;

// Keys the page keeps for itself (the shortcuts, the dialog's Escape, Tab
// to move between controls), with why, in the player's words.
const RESERVED = {
  Escape: 'Esc closes dialogs',
  Tab: 'Tab moves between controls',
  F1: 'F1 opens this help',
  F2: 'F2 saves to slot 1',
  F3: 'F3 shows the statistics',
  F4: 'F4 loads slot 1',
  KeyF: 'F switches fullscreen',
};

/** Why a key cannot press a button ("F switches fullscreen"), or '' when it can. */
export function reservedKey(code) {
  return RESERVED[code] ?? '';
}

/**
 * A system's bindings: { keys: { button: [code] }, pad: { button: [index] } },
 * the player's changes (stored: what parseBindings read) over the defaults.
 */
export function bindingsFor(stored, system) {
  const own = stored?.[system];
  return {
    keys: { ...DEFAULT_KEYS, ...own?.keys },
    pad: { ...DEFAULT_PAD, ...own?.pad },
  };
}

/** True when the system's bindings are the defaults. */
export function isDefault(stored, system) {
  return !stored?.[system];
}

/**
 * Stored bindings with `button` pressed by `code` (kind 'keys') or by the
 * gamepad button `code` (kind 'pad') alone, taken from any other button
 * of that system. A new object; the old one is unchanged.
 */
export function bind(stored, system, kind, button, code) {
  const current = bindingsFor(stored, system);
  const table = {};
  for (const [b, codes] of Object.entries(current[kind])) {
    const rest = codes.filter((c) => c !== code);
    if (rest.length !== codes.length || b === button) table[b] = rest;
  }
  table[button] = [code];
  const own = stored?.[system] ?? {};
  return { ...stored, [system]: { ...own, [kind]: { ...own[kind], ...table } } };
}

/** Stored bindings without the system's changes: its defaults again. */
export function unbindAll(stored, system) {
  const { [system]: _, ...rest } = stored ?? {};
  return rest;
}

/** Key code → button bit number, for input.js. */
export function keyTable(bindings) {
  const table = new Map();
  for (const [button, codes] of Object.entries(bindings.keys)) {
    for (const c of codes) table.set(c, BUTTON[button]);
  }
  return table;
}

/** Gamepad button index → button bit number (-1: none), for input.js. */
export function padTable(bindings) {
  const table = new Array(PAD_BUTTONS).fill(-1);
  for (const [button, indexes] of Object.entries(bindings.pad)) {
    for (const i of indexes) table[i] = BUTTON[button];
  }
  return table;
}

const CODE = /^[A-Za-z0-9]{1,24}$/;

/**
 * What localStorage held, checked: { system: { keys?, pad? } } with known
 * systems and buttons, key codes as KeyboardEvent.code names them, pad
 * indexes in range, and no code pressing two buttons. Anything else
 * reads as no changes, for that system or in all: a stored map that is
 * damaged must never leave the player without controls.
 */
export function parseBindings(text) {
  let raw;
  try {
    raw = JSON.parse(text ?? '{}');
  } catch {
    return {};
  }
  const out = {};
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return out;
  for (const system of BOUND_SYSTEMS) {
    const own = raw[system];
    if (!own || typeof own !== 'object') continue;
    const keys = table(own.keys, (c) => typeof c === 'string' && CODE.test(c) && !reservedKey(c));
    const pad = table(own.pad, (i) => Number.isInteger(i) && i >= 0 && i < PAD_BUTTONS);
    if (keys === null || pad === null) continue;
    if (!keys && !pad) continue;
    out[system] = { ...(keys && { keys }), ...(pad && { pad }) };
  }
  return out;
}

// One kind's table checked: undefined when absent, null when damaged.
function table(raw, valid) {
  if (raw === undefined) return undefined;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const seen = new Set();
  const out = {};
  for (const [button, codes] of Object.entries(raw)) {
    if (!(button in BUTTON) || !Array.isArray(codes) || codes.length > 4) return null;
    for (const c of codes) {
      if (!valid(c) || seen.has(c)) return null;
      seen.add(c);
    }
    out[button] = [...codes];
  }
  return out;
}

// The standard mapping's buttons, named by where they are.
const PAD_NAMES = [
  'Bottom', 'Right', 'Left', 'Top', 'LB', 'RB', 'LT', 'RT',
  'Back', 'Start', 'L stick', 'R stick', 'Pad ↑', 'Pad ↓', 'Pad ←', 'Pad →', 'Home',
];

/** A gamepad button's name for the dialog: "Bottom", "LB", or "Button 20" past the standard ones. */
export function padButtonName(index) {
  return PAD_NAMES[index] ?? `Button ${index}`;
}

const ARROWS = { ArrowUp: '↑', ArrowDown: '↓', ArrowLeft: '←', ArrowRight: '→' };

/**
 * A key's name for the dialog, from its code: the layout's own letter where
 * the browser tells it (layout: navigator.keyboard's map), "↑", "Shift", "Space".
 */
export function keyName(code, layout) {
  if (ARROWS[code]) return ARROWS[code];
  if (code.startsWith('Shift')) return 'Shift';
  if (code.startsWith('Control')) return 'Ctrl';
  if (code === 'NumpadEnter') return 'Enter';
  const own = layout?.get(code);
  if (own && own.trim()) return own.toUpperCase();
  if (code === 'Space') return 'Space';
  return code.replace(/^(Key|Digit)/, '').replace(/^Numpad/, 'Num ');
}
