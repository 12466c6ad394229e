// The game list: filtered as the player types, sorted, one selected.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  artURL, countLabel, matchGames, RECENT_SHOWN, selectedGame, shelfNamer, validGames, withFavourite, withPlayed, withQuery, withSelection,
} from '../js/model/games.js';

const games = validGames([
  { id: 'gb:pokemon.gb', title: 'Pokémon Red', system: 'gb' },
  { id: 'nes:zelda2.nes', title: 'Zelda 2', system: 'nes' },
  { id: 'nes:zelda10.nes', title: 'Zelda 10', system: 'nes' },
  { id: 'snes:mario.sfc', title: 'Super Mario World', detail: 'USA · Rev 1', system: 'snes' },
  { id: 'nes:zelda2.nes', title: 'Zelda 2 again', system: 'nes' }, // the same id again
  { title: 'No id' },
]);

const list = (query) => matchGames(games, query).map((g) => g.title);

test('hello\'s games are kept once each, and only those that can be started', () => {
  assert.equal(games.length, 4);
});

test('a game\'s picture is at its address only when hello names a version of it', () => {
  const [withArt, bad, none] = validGames([
    { id: 'nes:Foo (USA) & Bar?.nes', title: 'Foo', system: 'nes', art: '0123abcd' },
    { id: 'b', title: 'B', system: 'nes', art: '../../evil' },
    { id: 'c', title: 'C', system: 'nes' },
  ]);
  assert.equal(artURL(withArt), '/art/nes%3AFoo%20(USA)%20%26%20Bar%3F.nes?v=0123abcd');
  assert.equal(bad.art, undefined, 'a version that is not one is dropped');
  assert.equal(artURL(bad), '');
  assert.equal(artURL(none), '');
});

test('games are grouped by system, and sorted by title within, numbers as numbers', () => {
  assert.deepEqual(list(''), ['Zelda 2', 'Zelda 10', 'Super Mario World', 'Pokémon Red']);
  assert.deepEqual(matchGames(games, '').map(shelfNamer()), ['NES', 'NES', 'Super Nintendo', 'Game Boy']);
});

test('favourites come first, then the games played last, newest first', () => {
  let shelves = withFavourite(undefined, 'gb:pokemon.gb', true);
  shelves = withPlayed(shelves, 'nes:zelda10.nes');
  shelves = withPlayed(shelves, 'snes:mario.sfc');
  shelves = withPlayed(shelves, 'gb:pokemon.gb'); // a favourite is shown once, among the favourites
  const listed = matchGames(games, '', shelves);
  assert.deepEqual(listed.map((g) => g.title), ['Pokémon Red', 'Super Mario World', 'Zelda 10', 'Zelda 2']);
  assert.deepEqual(listed.map(shelfNamer(shelves)), ['Favourites', 'Recently played', 'Recently played', 'NES']);
  assert.deepEqual(matchGames(games, 'zelda', shelves).map((g) => g.title), ['Zelda 10', 'Zelda 2'], 'a filter keeps the order');
  shelves = withFavourite(shelves, 'gb:pokemon.gb', false);
  assert.deepEqual(shelves.favourites, []);
  assert.equal(shelves.recent[0], 'gb:pokemon.gb', 'played again: first');
  let many;
  for (let i = 0; i < 30; i++) many = withPlayed(many, `g${i}`);
  assert.equal(many.recent.length, 20, 'the recent list is bounded');
  assert.ok(RECENT_SHOWN < 20);
});

test('the filter ignores case and accents, and finds systems by any name', () => {
  assert.deepEqual(list('pokemon'), ['Pokémon Red']);
  assert.deepEqual(list('ZELDA 1'), ['Zelda 10']);
  assert.deepEqual(list('super nintendo'), ['Super Mario World']);
  assert.deepEqual(list('snes'), ['Super Mario World']);
  assert.deepEqual(list('  nes  zelda '), ['Zelda 2', 'Zelda 10']);
  assert.deepEqual(list('metroid'), []);
});

test('the filter finds a copy of a game by its detail', () => {
  assert.deepEqual(list('mario usa'), ['Super Mario World']);
  assert.deepEqual(list('rev 1'), ['Super Mario World']);
  assert.equal(games.find((g) => g.id === 'snes:mario.sfc').detail, 'USA · Rev 1');
  assert.equal('detail' in games.find((g) => g.id === 'gb:pokemon.gb'), false, 'none when the server gives none');
});

test('the selected game stays selected while it still matches', () => {
  let st = { games, query: '', selected: '' };
  st = withSelection(st, 1);
  assert.equal(selectedGame(st).title, 'Zelda 10');
  st = withQuery(st, 'zelda');
  assert.equal(selectedGame(st).title, 'Zelda 10', 'still there');
  st = withQuery(st, 'mario');
  assert.equal(selectedGame(st).title, 'Super Mario World', 'gone: the first match');
  st = withQuery(st, 'metroid');
  assert.equal(selectedGame(st), undefined, 'nothing to start');
});

test('moving the selection stops at the ends', () => {
  let st = { games, query: 'zelda', selected: '' };
  st = withSelection(st, 8);
  assert.equal(selectedGame(st).title, 'Zelda 10');
  st = withSelection(st, -8);
  assert.equal(selectedGame(st).title, 'Zelda 2');
});

test('the count says how many, or how many of all while filtering', () => {
  assert.equal(countLabel({ games, query: '' }), '4 games');
  assert.equal(countLabel({ games, query: 'zelda' }), '2 of 4');
  assert.equal(countLabel({ games: games.slice(0, 1), query: ' ' }), '1 game');
});
