#!/usr/bin/python3
"""Writes qr-vectors.json, the whole matrices qr.test.js compares with.

Made by two real encoders, each a Debian package: qrencode (apt-get install
qrencode), which picks its own mask (read back from the format bits, and
forced on ours), and segno (apt-get install python3-segno), which lets the
mask be forced, for all eight. Segno 1.4 adds a zero byte of padding where
the standard adds none when the data ends on a byte after the terminator,
which byte mode always does unless the text fills the version: so its
vectors are texts that fill their version exactly.

Run from anywhere: /usr/bin/python3 web/test/qr-vectors.py
"""
import json
import os
import subprocess

import segno

# The bytes that fill versions at level M (data codewords less the mode and
# count): 8, 9 and 14 have blocks of two lengths, 14 a 16-bit count.
FULL = {2: 26, 7: 122, 8: 152, 9: 180, 14: 362}


def rows_of(matrix):
    return [''.join('#' if b else '.' for b in row) for row in matrix]


def qrencode(text, min_version=1):
    out = subprocess.run(
        ['qrencode', '-t', 'ASCII', '-l', 'M', '-8', '-m', '0', '-v', str(min_version), '-o', '-', text],
        check=True, capture_output=True, text=True).stdout
    rows = [''.join('#' if line[i:i + 2] == '##' else '.' for i in range(0, len(line), 2))
            for line in out.split('\n') if line]
    # Format bits 0-14 of the copy beside the top-left finder, as (y, x).
    spots = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
    bits = sum(1 << i for i, (y, x) in enumerate(spots) if rows[y][x] == '#')
    mask = ((bits ^ 0x5412) >> 10) & 7
    version = (len(rows) - 17) // 4
    return {'reference': 'qrencode', 'text': text, 'minVersion': min_version,
            'version': version, 'mask': mask, 'rows': rows}


def segno_full(version, mask):
    n = FULL[version]
    text = ''.join(chr(0x21 + (i * 7 + mask) % 90) for i in range(n))
    q = segno.make(text, error='m', mode='byte', boost_error=False, micro=False, version=version, mask=mask)
    assert q.version == version and q.mask == mask
    return {'reference': 'segno', 'text': text, 'minVersion': version,
            'version': version, 'mask': mask, 'rows': rows_of(q.matrix)}


vectors = [
    qrencode('A'),
    qrencode('hello'),
    qrencode('https://telecart.example.com/r/Xk3vQ9pL/pad'),
    qrencode('https://play.telecart.example.org:8443/r/AbCdEfGh12345678/pad?seat=2'),
    qrencode('Télécart — ゲーム 🎮 /r/ÉTÉ/pad'),
    qrencode('https://telecart.example.com/r/Xk3vQ9pL/pad', min_version=7),
    qrencode('https://telecart.example.com/r/' + 'a1B2c3D4e5' * 17 + '/pad'),
] + [segno_full(2, mask) for mask in range(8)] + [segno_full(7, mask) for mask in (0, 5)] + [segno_full(v, 3) for v in (8, 9, 14)]

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, 'qr-vectors.json'), 'w', encoding='utf-8') as f:
    json.dump(vectors, f, ensure_ascii=False, indent=0)
    f.write('\n')
