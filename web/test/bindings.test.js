import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  BUTTON, bind, bindingsFor, buttonName, buttonsOf, isDefault, keyName, keyTable,
  padButtonName, padTable, parseBindings, reservedKey, unbindAll,
} from '../js/model/bindings.js';

test('the defaults press what the help always said', () => {
  const keys = keyTable(bindingsFor({}, 'nes'));
  assert.equal(keys.get('KeyX'), BUTTON.A);
  assert.equal(keys.get('KeyZ'), BUTTON.B);
  assert.equal(keys.get('ShiftRight'), BUTTON.SELECT);
  assert.equal(keys.get('NumpadEnter'), BUTTON.START);
  const pad = padTable(bindingsFor({}, 'nes'));
  assert.equal(pad[0], BUTTON.B, 'bottom face button is B, by position');
  assert.equal(pad[1], BUTTON.A);
  assert.equal(pad[12], BUTTON.UP);
  assert.equal(pad[16], -1, 'the home button presses nothing');
});

test('a key bound to a button presses it, and no longer presses the button it pressed before', () => {
  let stored = bind({}, 'nes', 'keys', 'A', 'KeyK');
  let keys = keyTable(bindingsFor(stored, 'nes'));
  assert.equal(keys.get('KeyK'), BUTTON.A);
  assert.equal(keys.has('KeyX'), false, "A's old key is free");

  stored = bind(stored, 'nes', 'keys', 'B', 'KeyK');
  keys = keyTable(bindingsFor(stored, 'nes'));
  assert.equal(keys.get('KeyK'), BUTTON.B, 'K moved to B');
  assert.equal([...keys.values()].filter((b) => b === BUTTON.A).length, 0, 'A has no key now');
  assert.equal(keys.has('KeyZ'), false);
});

test('bindings are per system, and reset alone', () => {
  const stored = bind(bind({}, 'nes', 'keys', 'A', 'KeyK'), 'gba', 'pad', 'A', 0);
  assert.equal(keyTable(bindingsFor(stored, 'snes')).get('KeyX'), BUTTON.A, 'other systems keep theirs');
  assert.equal(padTable(bindingsFor(stored, 'gba'))[0], BUTTON.A);
  assert.equal(padTable(bindingsFor(stored, 'gba'))[1], -1, "A's old pad button is free");
  assert.equal(keyTable(bindingsFor(stored, 'gba')).get('KeyX'), BUTTON.A, "a pad change leaves the system's keys");
  const reset = unbindAll(stored, 'nes');
  assert.ok(isDefault(reset, 'nes'));
  assert.ok(!isDefault(reset, 'gba'));
  assert.ok(!isDefault(stored, 'nes'), 'unbindAll made a new object');
});

test('what was stored comes back, and damaged storage reads as the defaults', () => {
  const stored = bind(bind({}, 'nes', 'keys', 'A', 'KeyK'), 'snes', 'pad', 'X', 5);
  assert.deepEqual(parseBindings(JSON.stringify(stored)), stored);
  const cases = [
    ['not JSON', '{'],
    ['null', null],
    ['an array', '[]'],
    ['unknown system', '{"n64":{"keys":{"A":["KeyK"]}}}'],
    ['unknown button', '{"nes":{"keys":{"TURBO":["KeyK"]}}}'],
    ['a key pressing two buttons', '{"nes":{"keys":{"A":["KeyK"],"B":["KeyK"]}}}'],
    ['a reserved key', '{"nes":{"keys":{"A":["Escape"]}}}'],
    ['a pad index out of range', '{"nes":{"pad":{"A":[99]}}}'],
    ['a pad index not a number', '{"nes":{"pad":{"A":["1"]}}}'],
    ['a code with markup', '{"nes":{"keys":{"A":["<b>"]}}}'],
  ];
  for (const [name, text] of cases) {
    const got = parseBindings(text);
    assert.equal(isDefault(got, 'nes'), true, name);
  }
  // One system's damage leaves another's changes.
  const mixed = JSON.stringify({ nes: { keys: { A: 'KeyK' } }, gb: { keys: { A: ['KeyK'] } } });
  assert.deepEqual(Object.keys(parseBindings(mixed)), ['gb']);
});

test('the page keeps its own keys', () => {
  for (const code of ['Escape', 'F1', 'F2', 'F3', 'F4', 'KeyF', 'Tab']) assert.notEqual(reservedKey(code), '', code);
  assert.equal(reservedKey('KeyK'), '');
});

test('buttons and their names follow the console', () => {
  assert.deepEqual(buttonsOf('nes'), ['UP', 'DOWN', 'LEFT', 'RIGHT', 'A', 'B', 'START', 'SELECT']);
  assert.ok(buttonsOf('snes').includes('X'));
  assert.ok(buttonsOf('gba').includes('L') && !buttonsOf('gba').includes('X'));
  assert.equal(buttonName('pce', 'A'), 'I');
  assert.equal(buttonName('pce', 'START'), 'Run');
  assert.equal(buttonName('nes', 'START'), 'Start');
  assert.equal(keyName('KeyX'), 'X');
  assert.equal(keyName('KeyX', new Map([['KeyX', 'x']])), 'X');
  assert.equal(keyName('KeyQ', new Map([['KeyQ', 'a']])), 'A', "an AZERTY keyboard's letter");
  assert.equal(keyName('ArrowUp'), '↑');
  assert.equal(keyName('ShiftLeft'), 'Shift');
  assert.equal(keyName('Space'), 'Space');
  assert.equal(keyName('Digit1'), '1');
  assert.equal(padButtonName(0), 'Bottom');
  assert.equal(padButtonName(20), 'Button 20');
});
