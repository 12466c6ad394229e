// What the player chose once and expects remembered: the nickname others
// see, the options new rooms start with, and the player id their saves
// belong to. Kept in localStorage; where storage is disabled the choices
// last for this page only (and so do the saves' owner).

import { parseBindings } from './model/bindings.js';
import { parseFilter } from './model/filter.js';

const KEYS = Object.freeze({
  nick: 'telecart.nick', private: 'telecart.private', crowd: 'telecart.crowd', player: 'telecart.player',
  volume: 'telecart.volume', mute: 'telecart.mute',
  favourites: 'telecart.favourites', recent: 'telecart.recent',
  bindings: 'telecart.bindings',
  filter: 'telecart.filter',
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

/**
 * { nick, private, crowd, player, volume, mute, shelves, bindings, filter }
 * as stored; empty, off and full volume by default, and no screen filter.
 */
export function loadPrefs() {
  const volume = Number.parseFloat(read(KEYS.volume) ?? '');
  return {
    nick: read(KEYS.nick) ?? '',
    private: read(KEYS.private) === '1',
    crowd: read(KEYS.crowd) === '1',
    player: read(KEYS.player) ?? '',
    volume: Number.isFinite(volume) ? Math.min(1, Math.max(0, volume)) : 1,
    mute: read(KEYS.mute) === '1',
    shelves: { favourites: readIds(KEYS.favourites), recent: readIds(KEYS.recent) },
    bindings: parseBindings(read(KEYS.bindings)),
    filter: parseFilter(read(KEYS.filter)),
  };
}

// A list of game ids kept as JSON; anything else reads as none.
function readIds(key) {
  try {
    const ids = JSON.parse(read(key) ?? '[]');
    return Array.isArray(ids) ? ids.filter((id) => typeof id === 'string' && id).slice(0, 500) : [];
  } catch {
    return [];
  }
}

/** Stores the list's shelves: the favourite games, and the ones played last. */
export function saveShelves({ favourites, recent }) {
  write(KEYS.favourites, JSON.stringify(favourites));
  write(KEYS.recent, JSON.stringify(recent));
}

/** Stores the player's key and gamepad bindings (model/bindings.js), or forgets them when there are none. */
export function saveBindings(bindings) {
  if (Object.keys(bindings).length) write(KEYS.bindings, JSON.stringify(bindings));
  else {
    try {
      localStorage.removeItem(KEYS.bindings);
    } catch {
      // storage disabled: kept in memory by the caller
    }
  }
}

/**
 * Stores one preference: nick or player (strings), private, crowd or mute
 * (booleans), volume (0 to 1), filter ("off", "crt" or "lcd").
 */
export function savePref(name, value) {
  if (!(name in KEYS)) throw new Error(`unknown preference ${name}`);
  write(KEYS[name], typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
}
