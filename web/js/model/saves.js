// Saves as the page understands them: the player id they belong to, the
// server's list of a game's saves checked into plain objects, and the words
// for them ("Slot 2", "3 min ago"). Pure functions, no DOM and no network,
// so the flows (which decide) and the views (which draw) read a save the
// same way.
//
// The player id is the only thing that says whose saves are whose: there
// are no accounts. It is random, made here on the first visit, and carried
// to another device by copying it there.

/** Slots a player has for each game besides the autosave (slot 0). */
export const SAVE_SLOTS = 4;

/** The slot F2 saves to and F4 loads. */
export const QUICK_SLOT = 1;

// The server's rule (signal.CheckPlayer): 16 to 64 URL-safe characters.
const PLAYER_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** True for a player id the server accepts. */
export function validPlayer(id) {
  return typeof id === 'string' && PLAYER_ID.test(id);
}

/**
 * A pasted player id, as the player probably meant it: without the spaces,
 * line breaks or quotes a copy from a chat or a note tends to bring along.
 */
export function cleanPlayer(text) {
  return String(text ?? '').replace(/[\s"'`“”‘’]/g, '');
}

/** A new player id: 16 random bytes, base64url without padding (22 characters). */
export function newPlayerId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function validSlot(n, auto = true) {
  return Number.isInteger(n) && n >= (auto ? 0 : 1) && n <= SAVE_SLOTS;
}

/** One save as the server describes it, or null. */
export function validSave(s) {
  if (!s || !validSlot(s.slot) || !Number.isFinite(s.time) || s.time < 0) return null;
  const thumb = typeof s.thumbnail === 'string' && s.thumbnail.startsWith('data:image/png;base64,') ? s.thumbnail : '';
  return { slot: s.slot, time: s.time, thumbnail: thumb };
}

/** The "saves" message's list: one save per slot, newest first. */
export function validSaves(list) {
  if (!Array.isArray(list)) return [];
  const bySlot = new Map();
  for (const s of list.map(validSave)) {
    if (s && (!bySlot.has(s.slot) || bySlot.get(s.slot).time < s.time)) bySlot.set(s.slot, s);
  }
  return [...bySlot.values()].sort((a, b) => b.time - a.time || a.slot - b.slot);
}

/** The slot a save or a save request names, e.g. "Autosave" or "Slot 2". */
export function slotName(slot) {
  return slot === 0 ? 'Autosave' : `Slot ${slot}`;
}

/**
 * The name a downloaded save gets: "Game - slot 2.tcsave", "Game -
 * autosave.tcsave". A title's characters that some file systems refuse
 * ("Zelda: …", "AC/DC") become spaces, and a leading dot would hide it.
 */
export function saveFileName(title, slot) {
  const game = String(title ?? '')
    .replace(/[\\/:*?"<>|\p{Cc}]/gu, ' ')
    .replace(/\s+/g, ' ')
    .replace(/^[\s.]+/, '')
    .trim() || 'Telecart';
  return `${game} - ${slot === 0 ? 'autosave' : `slot ${slot}`}.tcsave`;
}

/** True when a slot number can be saved to (1-4). */
export function savable(slot) {
  return validSlot(slot, false);
}

/** True when a slot number can be loaded from (0-4). */
export function loadable(slot) {
  return validSlot(slot);
}

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

function clock(d) {
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

function date(d, now) {
  const opts = { day: 'numeric', month: 'short' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString(undefined, opts);
}

/**
 * How long ago a save was made, for its slot: "just now", "3 min ago",
 * "2 h ago", then "yesterday" or the date. Unix ms, on this device's clock;
 * a save from a device whose clock runs ahead is "just now", not "in 2 min".
 */
export function saveAge(time, now = Date.now()) {
  const min = Math.floor(Math.max(0, now - time) / 60_000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min ago`;
  const d = new Date(time);
  const today = new Date(now);
  if (min < 12 * 60 || sameDay(d, today)) return `${Math.floor(min / 60)} h ago`;
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (sameDay(d, yesterday)) return `yesterday, ${clock(d)}`;
  return date(d, today);
}

/**
 * When a save was made, as a moment rather than an age: "14:02" today,
 * "3 Mar, 14:02" before. For "Alice loaded the save of 14:02", which
 * everyone in the room reads, and for a slot's tooltip.
 */
export function saveMoment(time, now = Date.now()) {
  const d = new Date(time);
  const today = new Date(now);
  return sameDay(d, today) ? clock(d) : `${date(d, today)}, ${clock(d)}`;
}
