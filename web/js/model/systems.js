// The systems Telecart plays, by the ids the server uses (hello, started).
// One table so the game list, the top bar and the touch pad name a system the
// same way; the colours live in style.css under [data-system].

const SYSTEMS = {
  nes: { name: 'NES', short: 'NES' },
  snes: { name: 'Super Nintendo', short: 'SNES' },
  gb: { name: 'Game Boy', short: 'GB' },
  gba: { name: 'Game Boy Advance', short: 'GBA' },
  pce: { name: 'PC Engine', short: 'PCE' },
};

/** Display name, e.g. "Super Nintendo"; an unknown id is shown as sent. */
export function systemName(id) {
  return SYSTEMS[id]?.name ?? String(id || '').toUpperCase();
}

/** Short label for badges, e.g. "SNES". */
export function systemShort(id) {
  return SYSTEMS[id]?.short ?? String(id || '').toUpperCase();
}

/** Where a system comes in the list's order: the table's; unknown ones last. */
export function systemRank(id) {
  const i = Object.keys(SYSTEMS).indexOf(id);
  return i >= 0 ? i : Object.keys(SYSTEMS).length;
}
