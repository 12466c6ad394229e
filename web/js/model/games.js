// The game list as the page reads it: hello's games checked, sorted by
// title, filtered by what the player types, and which of them Enter would
// start. Pure functions, no DOM and no network.

import { systemName, systemShort } from './systems.js';
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

/** Lower case without accents, so "pokemon" finds "Pokémon". */
function fold(s) {
  return String(s).normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** The words of a filter, folded: what every match must contain. */
export function filterWords(query) {
  return fold(query.trim()).split(/\s+/).filter(Boolean);
}

// The last answer, kept: every key press on the list asks again for the
// same games and query.
let memo = { games: null, query: null, matches: [] };

/**
 * The games that match query, by title ("Zelda 2" before "Zelda 10"); a
 * word matches the title or the system, by its id, name or short name.
 */
export function matchGames(games, query) {
  if (memo.games === games && memo.query === query) return memo.matches;
  const words = filterWords(query);
  const matches = games
    .filter((g) => {
      const hay = fold(`${g.title} ${g.detail ?? ''} ${g.system} ${systemName(g.system)} ${systemShort(g.system)}`);
      return words.every((w) => hay.includes(w));
    })
    .sort((a, b) => a.title.localeCompare(b.title, undefined, { numeric: true, sensitivity: 'base' }));
  memo = { games, query, matches };
  return matches;
}

/** Where the selected game (by id) is among matches; the first when it is not there. */
export function selectedIndex(matches, id) {
  const i = matches.findIndex((g) => g.id === id);
  return i >= 0 ? i : 0;
}

/** The game Enter starts on the list, or undefined when nothing matches. */
export function selectedGame(state) {
  const matches = matchGames(state.games, state.query);
  return matches[selectedIndex(matches, state.selected)];
}

/** state with the filter set to query: the game selected stays so while it still matches. */
export function withQuery(state, query) {
  const previous = selectedGame(state)?.id;
  const matches = matchGames(state.games, query);
  const selected = matches.some((g) => g.id === previous) ? previous : (matches[0]?.id ?? '');
  return { ...state, query, selected };
}

/** state with the i-th match selected, i kept within the list. */
export function withSelection(state, i) {
  const matches = matchGames(state.games, state.query);
  const at = Math.max(0, Math.min(i, matches.length - 1));
  return { ...state, selected: matches[at]?.id ?? '' };
}

/** "12 games", or "3 of 12" while a filter narrows them. */
export function countLabel(state) {
  const total = state.games.length;
  if (filterWords(state.query).length) return `${matchGames(state.games, state.query).length} of ${total}`;
  return `${total} ${total === 1 ? 'game' : 'games'}`;
}
