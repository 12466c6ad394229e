// The page names every module main.js needs, however deep, in a
// <link rel="modulepreload">: the browser then fetches them all at once
// instead of learning of each only when the module importing it has
// arrived, one round trip per level of imports.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');

// imports lists the static imports of a module, as paths under web/
// ("/js/store.js").
function imports(path) {
  const source = readFileSync(join(web, path), 'utf8');
  const found = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
    found.push(posix.join(posix.dirname(path), m[1] ?? m[2]));
  }
  return found;
}

// graph is every module reached from entry, entry included.
function graph(entry) {
  const seen = new Set([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    for (const next of imports(queue.shift())) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

function preloads(page) {
  const html = readFileSync(join(web, page), 'utf8');
  return [...html.matchAll(/<link\s+rel="modulepreload"\s+href="([^"]+)"/g)].map((m) => m[1]);
}

test('the import graph is read from the sources', () => {
  const modules = graph('/js/main.js');
  assert.ok(modules.has('/js/store.js'), 'main.js imports store.js');
  assert.ok(modules.has('/js/model/envelope.js'), 'network.js, imported by a flow, imports model/envelope.js');
});

test('index.html preloads every module main.js imports, and nothing else', () => {
  const modules = graph('/js/main.js');
  modules.delete('/js/main.js'); // the page's own <script type="module">
  const listed = preloads('index.html');
  const missing = [...modules].filter((m) => !listed.includes(m)).sort();
  assert.deepEqual(missing, [], 'imported but not preloaded: add a <link rel="modulepreload"> to index.html');
  const stale = listed.filter((m) => !modules.has(m)).sort();
  assert.deepEqual(stale, [], 'preloaded but not imported: remove it from index.html');
  assert.equal(new Set(listed).size, listed.length, 'a module preloaded twice');
});
