// The store: one state, replaced by updates, told to subscribers in order.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStore } from '../js/store.js';

test('an update with fields merges them into a new state', () => {
  const store = createStore({ a: 1, b: 2 });
  const before = store.get();
  const after = store.update({ b: 3 });
  assert.deepEqual(after, { a: 1, b: 3 });
  assert.equal(store.get(), after);
  assert.deepEqual(before, { a: 1, b: 2 }, 'the old state is never changed in place');
});

test('an update with a function replaces the state with its result', () => {
  const store = createStore({ n: 1 });
  store.update((st) => ({ ...st, n: st.n + 1 }));
  assert.equal(store.get().n, 2);
});

test('subscribers hear every change with the state they saw before it', () => {
  const store = createStore({ n: 0 });
  const heard = [];
  store.subscribe((st, prev) => heard.push([prev.n, st.n]));
  store.update({ n: 1 });
  store.update({ n: 2 });
  assert.deepEqual(heard, [[0, 1], [1, 2]]);
});

test('a function that returns the same state tells nobody', () => {
  const store = createStore({ n: 0 });
  let calls = 0;
  store.subscribe(() => calls++);
  store.update((st) => st);
  assert.equal(calls, 0);
});

test('an update made while subscribers are told reaches everyone, newest last', () => {
  const store = createStore({ n: 0 });
  const first = [];
  const second = [];
  // The first subscriber answers n = 1 with n = 2, as a flow reacting to a view would.
  store.subscribe((st, prev) => {
    first.push([prev.n, st.n]);
    if (st.n === 1) store.update({ n: 2 });
  });
  store.subscribe((st, prev) => second.push([prev.n, st.n]));
  store.update({ n: 1 });
  assert.deepEqual(first, [[0, 1], [1, 2]]);
  // The second never saw n = 1 (it was gone before its turn), and never an older state after a newer one.
  assert.deepEqual(second, [[0, 2]]);
  assert.equal(store.get().n, 2);
});

test('a failing subscriber does not keep the others from hearing', () => {
  const store = createStore({ n: 0 });
  const errors = console.error;
  console.error = () => {};
  try {
    let heard = 0;
    store.subscribe(() => { throw new Error('broken view'); });
    store.subscribe(() => heard++);
    store.update({ n: 1 });
    assert.equal(heard, 1);
  } finally {
    console.error = errors;
  }
});

test('unsubscribing stops the news', () => {
  const store = createStore({ n: 0 });
  let calls = 0;
  const stop = store.subscribe(() => calls++);
  store.update({ n: 1 });
  stop();
  store.update({ n: 2 });
  assert.equal(calls, 1);
});
