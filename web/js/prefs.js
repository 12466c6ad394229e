// What the player chose once and expects remembered: the nickname others
// see, and the options new rooms start with. Kept in localStorage; where
// storage is disabled the choices last for this page only.

const KEYS = Object.freeze({ nick: 'telecart.nick', private: 'telecart.private', crowd: 'telecart.crowd' });

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

/** { nick, private, crowd } as stored; empty and off by default. */
export function loadPrefs() {
  return {
    nick: read(KEYS.nick) ?? '',
    private: read(KEYS.private) === '1',
    crowd: read(KEYS.crowd) === '1',
  };
}

/** Stores one preference: nick (a string), private or crowd (booleans). */
export function savePref(name, value) {
  if (!(name in KEYS)) throw new Error(`unknown preference ${name}`);
  write(KEYS[name], typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
}
