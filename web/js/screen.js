// The picture and the sound: the <video> that plays the stream, its size,
// sharp or smooth scaling, fullscreen, and unmuting.
//
// The video is sized from the game's display aspect ratio (started.aspect),
// not from the stream's pixels: most of these systems have non-square pixels
// (an NES frame is 256x224 but shown at about 1.31:1), so the element's box
// is computed here and the frame is stretched to fill it. Browsers refuse to
// autoplay sound without a user gesture, so a blocked play falls back to
// muted and the first click, key or touch turns the sound on.

const SMOOTH_KEY = 'telecart.smooth';

export class Screen extends EventTarget {
  /**
   * Events: "frame" (the first picture of a stream arrived), "presented"
   * (detail: the performance.now() time the first picture was shown),
   * "sound" (detail: whether the sound is blocked), "fullscreen" (detail:
   * on or off).
   */
  constructor({ player, stage, video }) {
    super();
    this.player = player;
    this.stage = stage;
    this.video = video;
    this.aspect = 4 / 3;
    this.stream = null;
    this.attachTimer = 0;
    this.gotFrame = false;
    this.watched = null; // the stream whose first presentation is awaited
    this.soundBlocked = false;

    video.muted = false;
    video.disableRemotePlayback = true;
    player.classList.toggle('smooth', readSmooth());

    new ResizeObserver(() => this.layout()).observe(stage);
    const onFrame = () => {
      if (this.stream && !this.gotFrame && video.readyState >= 2) {
        this.gotFrame = true;
        this.dispatchEvent(new Event('frame'));
        // Without requestVideoFrameCallback, decoded is as close as it gets.
        if (!('requestVideoFrameCallback' in video)) this.dispatchEvent(new CustomEvent('presented', { detail: performance.now() }));
      }
    };
    video.addEventListener('loadeddata', onFrame);
    video.addEventListener('playing', onFrame);
    video.addEventListener('resize', onFrame);

    // The first gesture anywhere unlocks sound. Only events that grant user
    // activation count (a touch's pointerdown does not): unmuting without it
    // makes Chrome pause the video.
    const unlock = () => {
      if (navigator.userActivation && !navigator.userActivation.isActive) return;
      this.unlockAudio();
    };
    for (const type of ['pointerdown', 'pointerup', 'keydown', 'touchend']) addEventListener(type, unlock, { capture: true, passive: true });

    const onFs = () => this.dispatchEvent(new CustomEvent('fullscreen', { detail: this.isFullscreen }));
    document.addEventListener('fullscreenchange', onFs);
    document.addEventListener('webkitfullscreenchange', onFs);
  }

  get smooth() {
    return this.player.classList.contains('smooth');
  }

  set smooth(on) {
    this.player.classList.toggle('smooth', !!on);
    try {
      localStorage.setItem(SMOOTH_KEY, on ? '1' : '0');
    } catch {
      // storage disabled: the choice lasts for this page only
    }
  }

  setAspect(aspect) {
    this.aspect = Number.isFinite(aspect) && aspect > 0 ? aspect : 4 / 3;
    this.player.style.setProperty('--aspect', String(this.aspect));
    this.layout();
  }

  /** The largest box of the game's aspect that fits the stage, on whole device pixels. */
  layout() {
    const w = this.stage.clientWidth;
    const h = this.stage.clientHeight;
    if (!w || !h) return;
    const dpr = devicePixelRatio || 1;
    let vw = Math.min(w, h * this.aspect);
    let vh = vw / this.aspect;
    vw = Math.floor(vw * dpr) / dpr;
    vh = Math.floor(vh * dpr) / dpr;
    this.video.style.width = `${vw}px`;
    this.video.style.height = `${vh}px`;
  }

  /** Adds a received track; the element gets the stream once all tracks of the offer are in. */
  addTrack(track) {
    if (!this.stream) {
      this.stream = new MediaStream();
      this.gotFrame = false;
    }
    if (!this.stream.getTracks().includes(track)) this.stream.addTrack(track);
    // ontrack fires once per track in one go; waiting a task lets the element
    // start with both, instead of reloading when audio joins video.
    clearTimeout(this.attachTimer);
    this.attachTimer = setTimeout(() => this.play(), 0);
  }

  play() {
    const video = this.video;
    if (!this.stream) return;
    if (video.srcObject !== this.stream) video.srcObject = this.stream;
    this.watchPresentation();
    const activated = navigator.userActivation ? navigator.userActivation.hasBeenActive : true;
    video.muted = !activated;
    video.play().then(
      () => this.setSoundBlocked(video.muted),
      (err) => {
        if (err.name === 'AbortError') return; // replaced by a newer load
        // Sound not allowed yet: play muted, which browsers always allow.
        video.muted = true;
        this.setSoundBlocked(true);
        video.play().catch((e) => {
          if (e.name !== 'AbortError') console.warn('telecart: video does not play', e);
        });
      },
    );
  }

  /** Reports when the stream's first picture reaches the screen, not just the decoder. */
  watchPresentation() {
    const video = this.video;
    const stream = this.stream;
    if (this.watched === stream || !('requestVideoFrameCallback' in video)) return;
    this.watched = stream;
    video.requestVideoFrameCallback((now, meta) => {
      if (this.stream !== stream) return;
      this.dispatchEvent(new CustomEvent('presented', { detail: meta?.presentationTime ?? now }));
    });
  }

  /**
   * The player's volume, 0 to 1, and mute. Apart from the element's muted,
   * which is the browser's autoplay rule's (sound before a gesture).
   */
  setVolume(volume, mute) {
    this.video.volume = mute ? 0 : volume;
  }

  unlockAudio() {
    if (!this.soundBlocked || !this.stream) return;
    const video = this.video;
    video.muted = false;
    video.play().then(
      () => this.setSoundBlocked(false),
      () => {
        video.muted = true;
        video.play().catch(() => {});
      },
    );
  }

  setSoundBlocked(blocked) {
    if (this.soundBlocked === blocked) return;
    this.soundBlocked = blocked;
    this.dispatchEvent(new CustomEvent('sound', { detail: blocked }));
  }

  detach() {
    clearTimeout(this.attachTimer);
    this.video.pause();
    this.video.srcObject = null;
    this.stream = null;
    this.watched = null;
    this.gotFrame = false;
    this.setSoundBlocked(false);
  }

  get fullscreenSupported() {
    return !!(document.fullscreenEnabled || document.webkitFullscreenEnabled);
  }

  get isFullscreen() {
    return !!(document.fullscreenElement || document.webkitFullscreenElement);
  }

  toggleFullscreen() {
    if (this.isFullscreen) this.exitFullscreen();
    else this.enterFullscreen();
  }

  enterFullscreen() {
    const el = this.player;
    const req = el.requestFullscreen ? el.requestFullscreen({ navigationUI: 'hide' }) : el.webkitRequestFullscreen?.();
    Promise.resolve(req).catch((err) => console.warn('telecart: fullscreen refused', err));
  }

  exitFullscreen() {
    if (!this.isFullscreen) return;
    const res = document.exitFullscreen ? document.exitFullscreen() : document.webkitExitFullscreen?.();
    Promise.resolve(res).catch(() => {});
  }
}

function readSmooth() {
  try {
    return localStorage.getItem(SMOOTH_KEY) === '1';
  } catch {
    return false;
  }
}
