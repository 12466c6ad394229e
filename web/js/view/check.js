// The /check page's list of steps: each result as it comes, ok or what
// to fix, and the summary at the top.

import { stepTitle, summary } from '../model/check.js';

const $ = (id) => document.getElementById(id);

const headings = {
  running: 'Checking the way to the games…',
  ok: 'Every step works.',
  failed: 'Something is in the way: each failed step says what to fix.',
};

/** Draws store's check into #check-steps and #check-summary. */
export function mountCheck(store) {
  const list = $('check-steps');
  const head = $('check-summary');
  let drawn = 0;
  function render(state, previous) {
    const { results, done } = state.check;
    if (previous && results === previous.check.results && done === previous.check.done) return;
    for (; drawn < results.length; drawn++) {
      const r = results[drawn];
      const li = document.createElement('li');
      li.className = `check-step ${r.ok ? 'check-ok' : 'check-fail'}`;
      li.dataset.step = r.step;
      li.dataset.ok = String(r.ok);
      const badge = document.createElement('span');
      badge.className = 'check-badge';
      badge.textContent = r.ok ? 'ok' : 'FAIL';
      const title = document.createElement('strong');
      title.textContent = stepTitle(r);
      const text = document.createElement('p');
      text.className = 'check-words';
      text.textContent = r.words;
      li.append(badge, title, text);
      list.append(li);
    }
    const s = summary(results, done);
    head.textContent = headings[s];
    head.dataset.state = s;
    document.body.dataset.check = s;
  }
  store.subscribe(render);
  render(store.get());
}
