// What the player chose once and expects remembered: the nickname others
// see, the options new rooms start with, and the player id their saves
// belong to. Kept in localStorage; where storage is disabled the choices
// last for this page only (and so do the saves' owner).

const KEYS = Object.freeze({
  nick: 'telecart.nick', private: 'telecart.private', crowd: 'telecart.crowd', player: 'telecart.player',
});

/** The localStorage key of a preference, for "storage" events from other tabs. */
export function prefKey(name) {
  return KEYS[name];
}

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: kept in memory by the caller
  }
}

/** { nick, private, crowd, player } as stored; empty and off by default. */
export function loadPrefs() {
  return {
    nick: read(KEYS.nick) ?? '',
    private: read(KEYS.private) === '1',
    crowd: read(KEYS.crowd) === '1',
    player: read(KEYS.player) ?? '',
  };
}

/** Stores one preference: nick or player (strings), private or crowd (booleans). */
export function savePref(name, value) {
  if (!(name in KEYS)) throw new Error(`unknown preference ${name}`);
  write(KEYS[name], typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
}
