// The player's pad: what each source (keyboard, gamepad, touch pad) holds, the
// union of them, and its delivery on the "input" data channel.
//
// Latency decides the shape of this module. A change is sent from inside the
// event handler that caused it, never from a polling loop (that would wait up
// to a frame). The channel is unordered and never retransmits, so every
// message carries whole states with sequence numbers, and loss is repaired by
// redundancy (model/padwire.js): copies of each change 8, 24 and 56 ms later
// carrying the last four states, then the newest state every 100 ms. A lost
// packet can delay a change, never drop a tap, release a held button early
// or leave one stuck.

import { REPORT_SIZE, encodeReport } from './model/display.js';
import { BUTTON } from './model/bindings.js';
import { encode, nextSend, nextSeq, remember } from './model/padwire.js';

export const bit = (name) => 1 << BUTTON[name];

// The code a key event without one (some on-screen keyboards) would have had.
function codeOfKey(key) {
  const k = key || '';
  if (/^[a-z]$/i.test(k)) return 'Key' + k.toUpperCase();
  if (/^[0-9]$/.test(k)) return 'Digit' + k;
  if (k === 'Shift') return 'ShiftLeft';
  return k.startsWith('Arrow') || k === 'Enter' ? k : '';
}

const NO_AXES = Object.freeze([0, 0, 0, 0]);

/**
 * The pad as the server sees it. Sources set their own part; the union is
 * a new state whenever it changes, sent at once while the channel is open.
 */
export class Pad {
  constructor() {
    this.sources = new Map(); // name -> { buttons, axes }
    this.channel = null;
    this.seq = 0; // the newest state's sequence number on the current channel
    this.history = []; // the last states sent, newest first (padwire.remember)
    this.sends = 0; // messages sent since the newest state's change
    this.lastSentAt = 0; // performance.now() of the last send
    this.timer = 0;
    this.reportView = new DataView(new ArrayBuffer(REPORT_SIZE));
  }

  /** Use a new "input" channel: sequence numbers start again at 1 on it. */
  attach(channel) {
    this.detach();
    this.channel = channel;
    this.seq = 0;
    this.history = [];
    channel.binaryType = 'arraybuffer';
    channel.addEventListener('open', () => this.flush());
    channel.addEventListener('close', () => { if (this.channel === channel) this.detach(); });
    // The server never sends on this channel; anything it does send is unused.
    this.flush();
  }

  detach() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.channel = null;
  }

  get open() {
    return this.channel !== null && this.channel.readyState === 'open';
  }

  /** Replace one source's part of the pad and send the result if it changed. */
  set(source, buttons, axes = NO_AXES) {
    this.sources.set(source, { buttons, axes });
    this.flush();
  }

  /** Release every source and send the all-released state even if nothing was held. */
  releaseAll() {
    this.sources.clear();
    this.flush(true);
  }

  current() {
    let buttons = 0;
    let axes = NO_AXES;
    for (const s of this.sources.values()) {
      buttons |= s.buttons;
      if (axes === NO_AXES && s.axes.some((v) => v !== 0)) axes = s.axes;
    }
    return { buttons: buttons & 0xffff, axes };
  }

  /** A new state, if the pad changed since the last one (or if forced). */
  flush(force = false) {
    if (!this.open) return; // the state is kept; flush() on open delivers it
    const { buttons, axes } = this.current();
    const last = this.history[0];
    const changed = !last || buttons !== last.buttons || axes.some((v, i) => v !== last.axes[i]);
    if (!changed && !force) return;
    this.seq = nextSeq(this.seq);
    this.history = remember(this.history, { seq: this.seq, buttons, axes });
    this.sends = 0;
    this.transmit(this.history);
  }

  /**
   * Sends a display report (model/display.js) on the input channel; false
   * when it is not open. The server tells it from a pad state by its first byte.
   */
  sendReport(report) {
    if (!this.open) return false;
    encodeReport(this.reportView, report);
    try {
      this.channel.send(this.reportView.buffer);
    } catch (err) {
      console.warn('telecart: display report not sent', err);
      return false;
    }
    return true;
  }

  /** Sends states, and schedules the next copy or repeat. */
  transmit(states) {
    clearTimeout(this.timer);
    this.timer = 0;
    if (!this.open) return;
    try {
      this.channel.send(encode(states));
      this.lastSentAt = performance.now();
    } catch (err) {
      // Full or closing: the copies that follow carry the state.
      console.warn('telecart: input not sent', err);
    }
    this.sends++;
    const next = nextSend(this.sends);
    this.timer = setTimeout(() => this.transmit(next.copy ? this.history : this.history.slice(0, 1)), next.delay);
  }
}

/**
 * Keyboard → pad. Listens on window in the capture phase so nothing on the
 * page can delay or swallow a key while playing.
 */
export class Keyboard {
  /** @param isActive () => boolean: true while keys should drive the pad */
  constructor(pad, isActive) {
    this.pad = pad;
    this.isActive = isActive;
    this.down = new Map(); // key code -> button, in press order
    this.keys = new Map(); // code -> button: setKeys
    addEventListener('keydown', (e) => this.onDown(e), true);
    addEventListener('keyup', (e) => this.onUp(e), true);
  }

  /** Use these bindings (model/bindings.js keyTable), releasing what the old ones held. */
  setKeys(table) {
    this.keys = table;
    if (this.down.size) {
      this.down.clear();
      this.update();
    }
  }

  /** The key an event is about, and the button it presses (-1: none). */
  resolve(e) {
    const code = e.code || codeOfKey(e.key);
    return { id: code, button: this.keys.get(code) ?? -1 };
  }

  onDown(e) {
    if (!this.isActive() || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const { id, button } = this.resolve(e);
    if (button < 0) return;
    // Enter or Space on a focused button is that button's, so the keyboard
    // can still reach Quit or Help from the top bar.
    if ((id === 'Enter' || id === 'NumpadEnter' || id === 'Space') && e.target instanceof Element && e.target.closest('button, input, a')) return;
    e.preventDefault();
    if (e.repeat && this.down.has(id)) return;
    this.down.delete(id); // re-insert: the order of presses matters below
    this.down.set(id, button);
    this.update();
  }

  onUp(e) {
    const { id } = this.resolve(e);
    if (!this.down.has(id)) return;
    if (this.isActive()) e.preventDefault();
    // Shift released while another Shift is held: the browser reports one
    // keyup per physical key, so only that one goes.
    if (this.down.delete(id)) this.update();
  }

  update() {
    // Opposite directions: the later press wins (as on most PC ports), so
    // left+right never reaches a game that cannot handle it.
    let mask = 0;
    for (const b of this.down.values()) {
      if (b === BUTTON.LEFT) mask &= ~bit('RIGHT');
      if (b === BUTTON.RIGHT) mask &= ~bit('LEFT');
      if (b === BUTTON.UP) mask &= ~bit('DOWN');
      if (b === BUTTON.DOWN) mask &= ~bit('UP');
      mask |= 1 << b;
    }
    this.pad.set('keyboard', mask);
  }

  /** Forget held keys (focus lost, overlay opened); the caller sends. */
  clear() {
    this.down.clear();
    this.pad.sources.delete('keyboard');
  }
}

const DEADZONE = 0.15;

/** A stick's two axes with a radial dead zone, as int16. */
function stick(x, y) {
  x = Number.isFinite(x) ? x : 0;
  y = Number.isFinite(y) ? y : 0;
  const mag = Math.hypot(x, y);
  if (mag < DEADZONE) return [0, 0];
  const scale = Math.min(1, (mag - DEADZONE) / (1 - DEADZONE)) / mag;
  return [toInt16(x * scale), toInt16(y * scale)];
}

function toInt16(v) {
  const n = Math.round(v < 0 ? v * 32768 : v * 32767);
  return Math.max(-32768, Math.min(32767, n));
}

/**
 * Gamepads → pad. The Gamepad API has no events for buttons, so pads are
 * read once per animation frame while playing, and sent on change.
 */
export class Gamepads {
  /** @param onUse () => void: called when a gamepad button is pressed */
  constructor(pad, onUse = () => {}) {
    this.pad = pad;
    this.onUse = onUse;
    this.running = false;
    this.raf = 0;
    this.lastButtons = 0;
    this.lastAxes = NO_AXES;
    this.paused = false; // true while a dialog has the controls: the pad reads as released
    this.buttons = []; // standard index -> button: setButtons
    this.supported = typeof navigator.getGamepads === 'function';
    if (this.supported) {
      addEventListener('gamepadconnected', (e) => {
        console.info('telecart: gamepad connected:', e.gamepad?.id, e.gamepad?.mapping || '(no standard mapping)');
        this.loop();
      });
    }
  }

  /** Use these bindings (model/bindings.js padTable); a button still held is read again. */
  setButtons(table) {
    this.buttons = table;
    this.reset();
  }

  start() {
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    cancelAnimationFrame(this.raf);
    this.raf = 0;
    this.lastButtons = 0;
    this.lastAxes = NO_AXES;
    this.pad.sources.delete('gamepad');
  }

  /** Forget what was read, so a button still held is sent again on the next frame. */
  reset() {
    this.lastButtons = -1;
    this.lastAxes = NO_AXES;
    this.pad.sources.delete('gamepad');
  }

  loop() {
    if (!this.running || !this.supported || this.raf) return;
    const tick = () => {
      this.raf = 0;
      if (!this.running) return;
      if (this.poll()) this.raf = requestAnimationFrame(tick);
    };
    this.raf = requestAnimationFrame(tick);
  }

  /** Reads every pad; false when none is connected (gamepadconnected restarts). */
  poll() {
    let pads;
    try {
      pads = navigator.getGamepads();
    } catch {
      return false; // blocked by a permissions policy
    }
    let buttons = 0;
    let axes = NO_AXES;
    let any = false;
    for (const gp of pads) {
      if (!gp || !gp.connected) continue;
      any = true;
      if (this.paused) continue;
      gp.buttons.forEach((b, i) => {
        const button = this.buttons[i] ?? -1;
        if (button >= 0 && (b.pressed || b.value > 0.5)) buttons |= 1 << button;
      });
      const [lx, ly] = stick(gp.axes[0], gp.axes[1]);
      const [rx, ry] = stick(gp.axes[2], gp.axes[3]);
      if (axes === NO_AXES && (lx || ly || rx || ry)) axes = [lx, ly, rx, ry];
      // The left stick doubles as the d-pad: most retro games read only that.
      const x = gp.axes[0] || 0;
      const y = gp.axes[1] || 0;
      if (x < -0.5) buttons |= bit('LEFT');
      if (x > 0.5) buttons |= bit('RIGHT');
      if (y < -0.5) buttons |= bit('UP');
      if (y > 0.5) buttons |= bit('DOWN');
    }
    const changed = buttons !== this.lastButtons || axes.some((v, i) => v !== this.lastAxes[i]);
    if (changed) {
      if (buttons & ~this.lastButtons) this.onUse();
      this.lastButtons = buttons;
      this.lastAxes = axes;
      this.pad.set('gamepad', buttons, axes);
    }
    return any;
  }
}
