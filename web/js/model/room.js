// Rooms as the page understands them: their links, the server's room
// states and live listings checked into plain objects, who holds which
// player slot, and the words for all of it. Pure functions, no DOM and no
// network, so the flows (which decide) and the views (which draw) read a
// room the same way.

/** Player slots a room has; slot 0 means watching. */
export const SLOTS = 4;

/** A nickname's limit, in UTF-8 bytes, as the server counts it. */
export const MAX_NICK_BYTES = 40;

// Room ids are short, random and URL-safe; anything else in a path is not one.
const ROOM_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** The room a path names ("/r/ID"), or null. */
export function roomFromPath(pathname) {
  const m = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (!m) return null;
  let id;
  try {
    id = decodeURIComponent(m[1]);
  } catch {
    return null;
  }
  return ROOM_ID.test(id) ? id : null;
}

/** The room a controller page's path names ("/r/ID/pad"), or null. */
export function controllerFromPath(pathname) {
  const m = /^(\/r\/[^/]+)\/pad\/?$/.exec(pathname);
  return m ? roomFromPath(m[1]) : null;
}

/** A room's controller page: a phone beside the screen becomes a gamepad for one seat. */
export function controllerPath(id) {
  return `${roomPath(id)}/pad`;
}

export function roomPath(id) {
  return `/r/${encodeURIComponent(id)}`;
}

/** The link to share: absolute (origin is the page's), so it works pasted anywhere. */
export function roomLink(id, origin) {
  return new URL(roomPath(id), origin).href;
}

/** The controller page's link, as roomLink. */
export function controllerLink(id, origin) {
  return new URL(controllerPath(id), origin).href;
}

/** The first controller nobody holds, or in a crowd room the first; 0 when every one is held. */
export function freeSlot(state) {
  for (let n = 1; n <= SLOTS; n++) if (holders(state, n).length === 0) return n;
  return state.crowd ? 1 : 0;
}

/**
 * A nickname as the server accepts it: no control characters, trimmed, at
 * most MAX_NICK_BYTES of UTF-8, cut between characters, never inside one.
 */
export function cleanNick(s) {
  const text = String(s ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim();
  const enc = new TextEncoder();
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = enc.encode(ch).length;
    if (bytes + n > MAX_NICK_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out.trim();
}

/** A game as hello, started and room messages carry it, or null. */
export function validGame(g) {
  if (!g || typeof g.id !== 'string' || !g.id) return null;
  const game = {
    id: g.id,
    title: typeof g.title === 'string' && g.title.trim() ? g.title.trim() : g.id,
    system: typeof g.system === 'string' ? g.system : '',
  };
  // Which copy of the game, when the server says: a ROM set's dump tags ("USA · Rev 1").
  if (typeof g.detail === 'string' && g.detail.trim()) game.detail = g.detail.trim();
  // Its picture's version, when it has one: the picture is at artURL(game).
  if (typeof g.art === 'string' && /^[0-9a-f]{1,32}$/.test(g.art)) game.art = g.art;
  return game;
}

function validSlot(n) {
  return Number.isInteger(n) && n >= 0 && n <= SLOTS ? n : 0;
}

/** A "room" message as a plain object, or null if it cannot be shown. */
export function validRoomState(d) {
  if (!d || typeof d.id !== 'string' || !d.id || typeof d.you !== 'string') return null;
  const rev = Number(d.rev);
  if (!Number.isFinite(rev)) return null;
  const members = [];
  for (const m of Array.isArray(d.members) ? d.members : []) {
    if (!m || typeof m.id !== 'string' || !m.id) continue;
    members.push({ id: m.id, nick: typeof m.nick === 'string' ? cleanNick(m.nick) : '', slot: validSlot(m.slot), controller: m.controller === true });
  }
  return {
    id: d.id,
    rev,
    game: validGame(d.game),
    private: d.private === true,
    crowd: d.crowd === true,
    you: d.you,
    members,
  };
}

/** The "rooms" message's listings that can be shown and joined, stamped with their arrival. */
export function validListings(list, receivedAt) {
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const rooms = [];
  for (const r of list) {
    if (!r || typeof r.id !== 'string' || !ROOM_ID.test(r.id) || seen.has(r.id)) continue;
    if (r.closed === true || r.private === true) continue; // never listed, whatever a server sends
    const game = validGame(r.game);
    if (!game) continue;
    seen.add(r.id);
    const count = (n) => (Number.isInteger(n) && n > 0 ? n : 0);
    rooms.push({
      id: r.id,
      game,
      crowd: r.crowd === true,
      players: count(r.players),
      spectators: count(r.spectators),
      age: Number.isFinite(r.age) && r.age > 0 ? r.age : 0,
      receivedAt,
    });
  }
  // The liveliest first; among equals, the one running longest.
  rooms.sort((a, b) => (b.players + b.spectators) - (a.players + a.spectators) || b.age - a.age);
  return rooms;
}

/** How long a listed room has run by now, e.g. "3 min". */
export function formatAge(room, now = performance.now()) {
  const ms = room.age + Math.max(0, now - room.receivedAt);
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'just started';
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  const rest = min % 60;
  return rest ? `${h} h ${rest} min` : `${h} h`;
}

/** The member this page is, or undefined. */
export function me(state) {
  return state?.members.find((m) => m.id === state.you);
}

/** The members holding slot n (1-4), or watching (0). */
export function holders(state, n) {
  return state ? state.members.filter((m) => m.slot === n) : [];
}

export function counts(state) {
  const players = state ? state.members.filter((m) => m.slot > 0).length : 0;
  return { players, spectators: state ? state.members.length - players : 0 };
}

/** "2 playing", or "2 playing · 3 watching", for the top bar and the list. */
export function countsLabel({ players, spectators }) {
  return spectators ? `${players} playing · ${spectators} watching` : `${players} playing`;
}

/** Short name of a slot for chips: "P2", or "Watching" for 0. */
export function roleLabel(slot) {
  return slot > 0 ? `P${slot}` : 'Watching';
}

/** A member's name: the nickname, or a neutral label. */
export function memberName(m) {
  if (m.nick) return m.nick;
  return m.slot > 0 ? `Player ${m.slot}` : 'Guest';
}

/** The names on one slot: "Alice", "Alice, Bob and 2 guests", or "Player 2" for one nameless holder. */
export function slotNames(list, n) {
  const named = list.filter((m) => m.nick).map((m) => m.nick);
  const unnamed = list.length - named.length;
  if (named.length === 0) return unnamed === 1 ? `Player ${n}` : `${unnamed} guests`;
  if (unnamed) named.push(unnamed === 1 ? '1 guest' : `${unnamed} guests`);
  return named.length === 1 ? named[0] : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`;
}
