// The game list as the page reads it: hello's games checked, sorted by
// title, filtered by what the player types, and which of them Enter would
// start. Pure functions, no DOM and no network.

import { systemName, systemRank, systemShort } from './systems.js';
import { validGame } from './room.js';

/** hello's games, keeping only entries that can be shown and started, each once. */
export function validGames(list) {
  if (!Array.isArray(list)) return [];
  const seen = new Set();
  const games = [];
  for (const g of list.map(validGame)) {
    if (!g || seen.has(g.id)) continue;
    seen.add(g.id);
    games.push(g);
  }
  return games;
}

/**
 * Where a game's picture is, or '' when it has none: the coordinator
 * serves it by id, and the version makes a changed picture a new address,
 * so browsers keep each for good.
 */
export function artURL(game) {
  return game?.art ? `/art/${encodeURIComponent(game.id)}?v=${encodeURIComponent(game.art)}` : '';
}

/** Lower case without accents, so "pokemon" finds "Pokémon". */
function fold(s) {
  return String(s).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a filter, folded: what every match must contain. */
export function filterWords(query) {
  return fold(query.trim()).split(/\s+/).filter(Boolean);
}

// The last answer, kept: every key press on the list asks again for the
// same games, query and shelves.
let memo = { games: null, query: null, shelves: null, matches: [] };

/** How many recently played games the list puts first. */
export const RECENT_SHOWN = 6;

/**
 * The games that match query, in the list's order: the player's
 * favourites, then the games they played last (newest first, RECENT_SHOWN
 * at most), then the rest by system; by title within each ("Zelda 2"
 * before "Zelda 10"). A word matches the title, the detail or the system,
 * by its id, name or short name. shelves: { favourites, recent }, arrays
 * of game ids as prefs keeps them.
 */
export function matchGames(games, query, shelves = NO_SHELVES) {
  if (memo.games === games && memo.query === query && memo.shelves === shelves) return memo.matches;
  const words = filterWords(query);
  const rank = shelfRanks(shelves);
  const byTitle = (a, b) => a.title.localeCompare(b.title, undefined, { numeric: true, sensitivity: 'base' });
  const matches = games
    .filter((g) => {
      const hay = fold(`${g.title} ${g.detail ?? ''} ${g.system} ${systemName(g.system)} ${systemShort(g.system)}`);
      return words.every((w) => hay.includes(w));
    })
    .sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      return ra.group - rb.group || ra.order - rb.order || byTitle(a, b);
    });
  memo = { games, query, shelves, matches };
  return matches;
}

const NO_SHELVES = Object.freeze({ favourites: [], recent: [] });

// Each game's place: group 0 the favourites, 1 the recent, 2 and on the
// systems; order, within the recent, how long ago.
function shelfRanks({ favourites = [], recent = [] }) {
  const favourite = new Set(favourites);
  const lately = recent.filter((id) => !favourite.has(id)).slice(0, RECENT_SHOWN);
  return (g) => {
    if (favourite.has(g.id)) return { group: 0, order: 0 };
    const i = lately.indexOf(g.id);
    if (i >= 0) return { group: 1, order: i };
    return { group: 2 + systemRank(g.system), order: 0 };
  };
}

/**
 * The namer of the list's parts for shelves: of a game, the heading it is
 * under, "Favourites", "Recently played", or its system's name.
 */
export function shelfNamer(shelves = NO_SHELVES) {
  const rank = shelfRanks(shelves);
  return (g) => {
    const { group } = rank(g);
    if (group === 0) return 'Favourites';
    if (group === 1) return 'Recently played';
    return systemName(g.system);
  };
}

/** The games as the list shows them for state: its query, its shelves. */
export function listedGames(state) {
  return matchGames(state.games, state.query, state.prefs?.shelves ?? NO_SHELVES);
}

/** shelves with game id marked a favourite, or not. */
export function withFavourite(shelves, id, on) {
  const favourites = (shelves?.favourites ?? []).filter((x) => x !== id);
  if (on) favourites.push(id);
  return { ...NO_SHELVES, ...shelves, favourites };
}

/** shelves with game id played just now, first of the recent. */
export function withPlayed(shelves, id, keep = 20) {
  const recent = [id, ...(shelves?.recent ?? []).filter((x) => x !== id)].slice(0, keep);
  return { ...NO_SHELVES, ...shelves, recent };
}

/** Where the selected game (by id) is among matches; the first when it is not there. */
export function selectedIndex(matches, id) {
  const i = matches.findIndex((g) => g.id === id);
  return i >= 0 ? i : 0;
}

/** The game Enter starts on the list, or undefined when nothing matches. */
export function selectedGame(state) {
  const matches = listedGames(state);
  return matches[selectedIndex(matches, state.selected)];
}

/** state with the filter set to query: the game selected stays so while it still matches. */
export function withQuery(state, query) {
  const previous = selectedGame(state)?.id;
  const matches = listedGames({ ...state, query });
  const selected = matches.some((g) => g.id === previous) ? previous : (matches[0]?.id ?? '');
  return { ...state, query, selected };
}

/** state with the i-th match selected, i kept within the list. */
export function withSelection(state, i) {
  const matches = listedGames(state);
  const at = Math.max(0, Math.min(i, matches.length - 1));
  return { ...state, selected: matches[at]?.id ?? '' };
}

/** "12 games", or "3 of 12" while a filter narrows them. */
export function countLabel(state) {
  const total = state.games.length;
  if (filterWords(state.query).length) return `${listedGames(state).length} of ${total}`;
  return `${total} ${total === 1 ? 'game' : 'games'}`;
}
