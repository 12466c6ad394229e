// How long the page takes to make a QR code and its SVG path, once per
// link shown: node web/test/qr.bench.mjs (not a test: node --test reads
// only *.test.js). Prints milliseconds per code, the mean of 200 after
// 20 to warm up.

import { qrMatrix, qrPath } from '../js/model/qr.js';

const texts = [
  ['a 43-byte link (version 4)', 'https://telecart.example.com/r/Xk3vQ9pL/pad'],
  ['205 bytes (version 10)', `https://telecart.example.com/r/${'a1B2c3D4e5'.repeat(17)}/pad`],
];
for (const [name, text] of texts) {
  for (let i = 0; i < 20; i++) qrPath(qrMatrix(text).modules);
  const n = 200;
  const start = performance.now();
  for (let i = 0; i < n; i++) qrPath(qrMatrix(text).modules);
  console.log(`${name}: ${((performance.now() - start) / n).toFixed(2)} ms a code and its path`);
}
