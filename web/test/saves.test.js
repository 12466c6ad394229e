// Saves as the page reads and words them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanPlayer, saveAge, saveFileName, slotName, validPlayer, validSaves } from '../js/model/saves.js';

const MIN = 60_000;
const now = new Date(2024, 2, 5, 15, 0).getTime(); // 5 March 2024, 15:00 here

test('a save\'s age, as its slot shows it', () => {
  assert.equal(saveAge(now - 20_000, now), 'just now');
  assert.equal(saveAge(now - 3 * MIN, now), '3 min ago');
  assert.equal(saveAge(now - 59 * MIN, now), '59 min ago');
  assert.equal(saveAge(now - 125 * MIN, now), '2 h ago');
  assert.equal(saveAge(now + 2 * MIN, now), 'just now', 'a device whose clock runs ahead is not "in 2 min"');
  assert.match(saveAge(new Date(2024, 2, 4, 1, 30).getTime(), now), /^yesterday, /);
  assert.doesNotMatch(saveAge(new Date(2024, 1, 20, 9, 0).getTime(), now), /ago|yesterday/, 'older: the date');
});

test('the list of saves keeps the newest of each slot, newest first', () => {
  const list = validSaves([
    { slot: 1, time: 100 },
    { slot: 2, time: 300, thumbnail: 'data:image/png;base64,AAAA' },
    { slot: 1, time: 200 },
    { slot: 7, time: 900 }, // no such slot
    { slot: 0, time: 'soon' }, // no time
    null,
  ]);
  assert.deepEqual(list, [
    { slot: 2, time: 300, thumbnail: 'data:image/png;base64,AAAA' },
    { slot: 1, time: 200, thumbnail: '' },
  ]);
  assert.deepEqual(validSaves('nothing'), []);
});

test('a thumbnail that is not a PNG data URL is dropped', () => {
  assert.equal(validSaves([{ slot: 1, time: 1, thumbnail: 'https://example.org/x.png' }])[0].thumbnail, '');
});

test('slots and save files are named for people and file systems', () => {
  assert.equal(slotName(0), 'Autosave');
  assert.equal(slotName(3), 'Slot 3');
  assert.equal(saveFileName('Zelda: A Link/Past', 2), 'Zelda A Link Past - slot 2.tcsave');
  assert.equal(saveFileName('.hidden', 0), 'hidden - autosave.tcsave');
  assert.equal(saveFileName('', 1), 'Telecart - slot 1.tcsave');
});

test('a pasted player code is taken as meant, and checked by the server\'s rule', () => {
  assert.equal(cleanPlayer(' "q3Vb8Xw1T0kz9FhYc2LpRg"\n'), 'q3Vb8Xw1T0kz9FhYc2LpRg');
  assert.equal(validPlayer('q3Vb8Xw1T0kz9FhYc2LpRg'), true);
  assert.equal(validPlayer('short'), false);
  assert.equal(validPlayer('has spaces in it, not a code'), false);
});
