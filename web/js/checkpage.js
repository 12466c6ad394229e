// The /check page's wiring: one store, the view of the steps, and the
// flow that runs them against the coordinator this page came from.

import { createStore } from './store.js';
import { runCheck } from './flow/check.js';
import { mountCheck } from './view/check.js';

const store = createStore({ check: { results: [], done: false } });
mountCheck(store);
// The read-only hook tests read, as the app's window.telecart.
window.telecartCheck = {
  get results() { return store.get().check.results; },
  get done() { return store.get().check.done; },
};
runCheck(store, location.origin).catch((err) => {
  console.error('telecart: the check failed', err);
  store.update((s) => ({ ...s, check: { ...s.check, done: true } }));
});
document.getElementById('check-again').addEventListener('click', () => location.reload());
