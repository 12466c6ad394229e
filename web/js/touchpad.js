// The on-screen pad for touch screens: which buttons a system gets, where
// they sit, and which of them each finger is on.
//
// Fingers are followed with pointer events, one pointer per finger, and the
// pressed set is worked out from geometry rather than from which element a
// touch began on: a thumb can slide around the d-pad (diagonals included) or
// roll from B onto A without lifting, and two thumbs work at once. A change
// goes to the pad from the pointer handler itself, like a key press.

import { bit } from './input.js';

// Face buttons per system: [button, label]. Labels follow the console, so a
// PC Engine shows II and I where the NES shows B and A.
const FACE = {
  nes: [['B', 'B'], ['A', 'A']],
  gb: [['B', 'B'], ['A', 'A']],
  gba: [['B', 'B'], ['A', 'A']],
  pce: [['B', 'II'], ['A', 'I']],
  snes: [['Y', 'Y'], ['X', 'X'], ['B', 'B'], ['A', 'A']],
};
const SHOULDERS = { snes: true, gba: true };

// A direction counts once the finger is this far (as a cosine) towards it:
// above cos(67.5°) = 0.38, so the four straight directions get slightly wider
// sectors than the diagonals, which are the ones pressed by accident.
const DIRECTION = 0.42;
const DEAD_CENTRE = 0.18; // of the d-pad's radius
const FACE_REACH = 1.3; // of a face button's radius: a thumb between B and A presses both

export class TouchPad {
  constructor(root, pad) {
    this.root = root;
    this.pad = pad;
    this.pointers = new Map(); // pointerId -> { zone, el, x, y }
    this.mask = 0;
    this.system = '';
    this.build('nes');

    root.addEventListener('pointerdown', (e) => this.onDown(e));
    root.addEventListener('pointermove', (e) => this.onMove(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
      root.addEventListener(type, (e) => this.onUp(e));
    }
    // Belt and braces for browsers that scroll, zoom or open a callout on a
    // long press despite touch-action: none.
    const stop = (e) => { if (e.cancelable) e.preventDefault(); };
    root.addEventListener('touchstart', stop, { passive: false });
    root.addEventListener('touchmove', stop, { passive: false });
    root.addEventListener('contextmenu', stop);
  }

  get visible() {
    return !this.root.hidden;
  }

  set visible(on) {
    if (!on) this.release();
    this.root.hidden = !on;
  }

  setSystem(system) {
    if (system !== this.system) this.build(system);
  }

  build(system) {
    this.release();
    this.system = system;
    const face = FACE[system] || FACE.nes;
    const b = (name, label, cls = '') =>
      `<button type="button" tabindex="-1" class="tp-btn ${cls}" data-b="${name}" aria-label="${label}">${label}</button>`;
    this.root.innerHTML = `
      ${SHOULDERS[system] ? `<div class="tp-shoulders">
        <div class="tp-zone" data-zone="one">${b('L', 'L', 'tp-shoulder')}</div>
        <div class="tp-zone" data-zone="one">${b('R', 'R', 'tp-shoulder')}</div>
      </div>` : ''}
      <div class="tp-dpad tp-zone" data-zone="dpad" role="group" aria-label="D-pad">
        <span class="tp-arm" data-b="UP"></span><span class="tp-arm" data-b="LEFT"></span>
        <span class="tp-hub"></span>
        <span class="tp-arm" data-b="RIGHT"></span><span class="tp-arm" data-b="DOWN"></span>
      </div>
      <div class="tp-face tp-zone" data-zone="face" data-count="${face.length}">
        ${face.map(([name, label]) => b(name, label, `tp-round tp-${name.toLowerCase()}`)).join('')}
      </div>
      <div class="tp-meta">
        <div class="tp-zone" data-zone="one">${b('SELECT', 'Select', 'tp-pill')}</div>
        <div class="tp-zone" data-zone="one">${b('START', 'Start', 'tp-pill')}</div>
      </div>`;
    this.root.dataset.system = system;
    this.dpad = this.root.querySelector('.tp-dpad');
  }

  onDown(e) {
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    const zone = e.target instanceof Element ? e.target.closest('.tp-zone') : null;
    if (!zone || !this.root.contains(zone)) return;
    e.preventDefault(); // no focus, no text selection, no emulated mouse
    try {
      zone.setPointerCapture(e.pointerId);
    } catch {
      // the pointer is already gone
    }
    this.pointers.set(e.pointerId, { zone, x: e.clientX, y: e.clientY, rects: this.measure(zone) });
    this.update(e.timeStamp);
  }

  onMove(e) {
    const p = this.pointers.get(e.pointerId);
    if (!p) return;
    p.x = e.clientX;
    p.y = e.clientY;
    this.update(e.timeStamp);
  }

  onUp(e) {
    if (this.pointers.delete(e.pointerId)) this.update(e.timeStamp);
  }

  /** Geometry of a zone's buttons, taken once per press: nothing moves while a finger is down. */
  measure(zone) {
    if (zone.dataset.zone === 'dpad') return [zone.getBoundingClientRect()];
    return [...zone.querySelectorAll('[data-b]')].map((el) => {
      const r = el.getBoundingClientRect();
      return { b: el.dataset.b, x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, h: r.height };
    });
  }

  maskOf(p) {
    const kind = p.zone.dataset.zone;
    if (kind === 'dpad') {
      const r = p.rects[0];
      const dx = p.x - (r.left + r.width / 2);
      const dy = p.y - (r.top + r.height / 2);
      const len = Math.hypot(dx, dy);
      if (len < (DEAD_CENTRE * r.width) / 2) return 0;
      let m = 0;
      if (dx / len > DIRECTION) m |= bit('RIGHT');
      if (dx / len < -DIRECTION) m |= bit('LEFT');
      if (dy / len > DIRECTION) m |= bit('DOWN');
      if (dy / len < -DIRECTION) m |= bit('UP');
      return m;
    }
    let m = 0;
    for (const r of p.rects) {
      if (kind === 'face') {
        if (Math.hypot(p.x - r.x, p.y - r.y) <= (r.w / 2) * FACE_REACH) m |= bit(r.b);
      } else if (Math.abs(p.x - r.x) <= r.w / 2 + 12 && Math.abs(p.y - r.y) <= r.h / 2 + 12) {
        m |= bit(r.b); // a small margin: a thumb drifts
      }
    }
    return m;
  }

  /** at: the touch's own time (the event's timeStamp), or now. */
  update(at = performance.now()) {
    let mask = 0;
    for (const p of this.pointers.values()) mask |= this.maskOf(p);
    if (mask === this.mask) return;
    this.mask = mask;
    this.pad.set('touch', mask, undefined, at);
    for (const el of this.root.querySelectorAll('[data-b]')) {
      el.classList.toggle('on', (mask & bit(el.dataset.b)) !== 0);
    }
  }

  /** Lift every finger (hidden, focus lost); the caller sends. */
  release() {
    this.pointers.clear();
    this.mask = 0;
    this.pad.sources.delete('touch');
    for (const el of this.root.querySelectorAll('.on')) el.classList.remove('on');
  }
}
