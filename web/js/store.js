// The one place the app's state lives (model/state.js describes it). An
// update replaces the state, never changes it in place, so a subscriber
// tells what changed by comparing the new state's parts with the ones it
// saw last, by identity.
//
// Subscribers are told synchronously, each with (state, previous): when
// update returns, every view has drawn the new state, so the code that
// made a change may move the focus into what it drew. A subscriber that
// updates in turn is fine: whoever was told already hears again, with
// the newest state, and nobody hears a state older than one they saw.

/** A store holding initial. */
export function createStore(initial) {
  let state = initial;
  const seen = new Map(); // subscriber → the state it was last told of
  let telling = false;

  function tell() {
    if (telling) return; // the loop below reaches everyone with the newest state
    telling = true;
    try {
      let again = true;
      while (again) {
        again = false;
        for (const [fn, last] of seen) {
          if (last === state || !seen.has(fn)) continue;
          const now = state;
          seen.set(fn, now);
          try {
            fn(now, last);
          } catch (err) {
            // One broken view must not keep the others from drawing.
            console.error('telecart: a subscriber failed', err);
          }
          if (state !== now) again = true;
        }
      }
    } finally {
      telling = false;
    }
  }

  return {
    get: () => state,

    /**
     * Replaces the state with fn(state), or with the state and patch's
     * fields merged in; returns the new state. A function returning the
     * state it was given changes nothing and tells nobody.
     */
    update(change) {
      const next = typeof change === 'function' ? change(state) : { ...state, ...change };
      if (next === state) return state;
      state = next;
      tell();
      return state;
    },

    /** Calls fn(state, previous) after every change from now on; returns the way to stop. */
    subscribe(fn) {
      seen.set(fn, state);
      return () => seen.delete(fn);
    },
  };
}
