// The screen filter: a <canvas> over the <video> that draws each of its
// frames through a WebGL fragment shader (CRT scanlines with a light
// aperture-grille mask, or an LCD's pixel grid), when the player asks for
// one. Off, there is no canvas, no loop and no GL context at all.
//
// The video stays the source of the picture and the sound: it keeps its
// place and size under the canvas (not display:none, which may stop its
// decoding), and each frame it presents (requestVideoFrameCallback) is
// uploaded as a texture and drawn once, on the canvas's device pixels,
// the lines laid on the game's own pixels (videoWidth × videoHeight), so
// scanlines follow the game's lines at any size. The shader is one
// texture fetch and a few multiplies: the whole cost is the upload and
// the fill, well under a millisecond on a GPU.
//
// The cost is measured only while asked (the stats overlay): from the
// frame's callback to gl.finish(), which waits for the GPU and so is never
// called in normal play.

import { FrameTimes, filterParams, parseFilter } from './model/filter.js';

// One triangle that covers the viewport: cheaper than a quad's two, and
// the fragment shader needs no varyings, it works from gl_FragCoord.
const VERTEX = `attribute vec2 a;
void main() { gl_Position = vec4(a, 0.0, 1.0); }`;

// GLSL ES 1.00, which WebGL2 runs as well. highp where the GPU has it: a
// game line's position within its device pixels (fract of up to 240 ×
// its scale) needs more than mediump's 10 bits.
const HEAD = `#ifdef GL_FRAGMENT_PRECISION_HIGH
precision highp float;
#else
precision mediump float;
#endif
uniform sampler2D uFrame;
uniform vec2 uDst;      // the canvas, in device pixels
uniform vec2 uSrc;      // the game's picture, in its pixels
uniform vec2 uStrength; // across and down, 0 to 1 (model/filter.js)
`;

// Each game line is brightest at its centre and darkens toward its edges
// (a beam's profile, squared: one multiply), with a little gain to make
// up for the light the dark rows take. Across, every third device column
// favours one of red, green, blue: an aperture grille, faint.
const CRT = `${HEAD}
void main() {
  vec2 uv = vec2(gl_FragCoord.x / uDst.x, 1.0 - gl_FragCoord.y / uDst.y);
  vec3 c = texture2D(uFrame, uv).rgb;
  float d = fract(uv.y * uSrc.y) - 0.5;
  float scan = (1.0 - 2.8 * uStrength.y * d * d) * (1.0 + 0.1 * uStrength.y);
  float m = mod(floor(gl_FragCoord.x), 3.0);
  vec3 mask = 1.0 - 0.12 * uStrength.x * vec3(step(0.5, m), step(0.5, abs(m - 1.0)), step(m, 1.5));
  gl_FragColor = vec4(c * scan * mask, 1.0);
}`;

// The first device row and column of each game pixel are darker: the gaps
// between an LCD's cells.
const LCD = `${HEAD}
void main() {
  vec2 uv = vec2(gl_FragCoord.x / uDst.x, 1.0 - gl_FragCoord.y / uDst.y);
  vec3 c = texture2D(uFrame, uv).rgb;
  vec2 edge = step(fract(uv * uSrc), uSrc / uDst) * uStrength;
  gl_FragColor = vec4(c * (1.0 - 0.45 * max(edge.x, edge.y)), 1.0);
}`;

const SHADERS = { crt: CRT, lcd: LCD };

const CONTEXT = { alpha: false, antialias: false, depth: false, stencil: false, premultipliedAlpha: false, preserveDrawingBuffer: false };

export class ScreenFilter extends EventTarget {
  /**
   * Events: "unavailable" (no WebGL here: the plain video shows).
   * video: the element whose frames are drawn; the canvas goes after it.
   */
  constructor({ video }) {
    super();
    this.video = video;
    this.kind = 'off';
    this.available = typeof WebGLRenderingContext !== 'undefined' && 'requestVideoFrameCallback' in video;
    this.smoothOn = false;
    this.measuring = false;
    this.times = new FrameTimes();
    this.run = null; // the running filter's canvas, GL objects and loop
  }

  /** Shows the picture through a filter: "off", "crt" or "lcd". */
  setKind(kind) {
    kind = parseFilter(kind);
    if (kind === this.kind && (kind === 'off' || this.run || !this.available)) return;
    this.stop();
    this.kind = kind;
    if (kind !== 'off' && this.available) this.start();
  }

  /** Smooth or sharp scaling of the game's pixels, as the plain video has. */
  setSmooth(on) {
    this.smoothOn = !!on;
    const run = this.run;
    if (run?.gl && !run.lost) {
      setSampling(run.gl, this.smoothOn);
      this.draw(run);
    }
  }

  /** Times each frame (and waits for the GPU to do so) while on. */
  setMeasuring(on) {
    if (this.measuring === !!on) return;
    this.measuring = !!on;
    this.times.clear();
  }

  /** True while the canvas shows filtered frames instead of the video. */
  get drawing() {
    return !!this.run?.drawn && !this.run.lost;
  }

  start() {
    const video = this.video;
    const canvas = document.createElement('canvas');
    canvas.className = 'screen-filter';
    canvas.setAttribute('aria-hidden', 'true');
    const gl = canvas.getContext('webgl2', CONTEXT) || canvas.getContext('webgl', CONTEXT);
    if (!gl) {
      this.unavailable('no WebGL context');
      return;
    }
    const run = { canvas, gl, size: { width: 0, height: 0 }, handle: 0, drawn: false, lost: false };
    try {
      Object.assign(run, setUp(gl, SHADERS[this.kind], this.smoothOn));
    } catch (err) {
      gl.getExtension('WEBGL_lose_context')?.loseContext();
      this.unavailable(err.message);
      return;
    }
    this.run = run;
    this.times.clear();

    // A lost context (a GPU reset, too many contexts) shows the video
    // until the browser gives it back.
    run.onLost = (e) => {
      e.preventDefault();
      run.lost = true;
      canvas.classList.remove('drawn');
    };
    run.onRestored = () => {
      try {
        Object.assign(run, setUp(gl, SHADERS[this.kind], this.smoothOn));
        run.lost = false;
        this.draw(run);
      } catch (err) {
        console.warn('telecart: screen filter not restored', err);
      }
    };
    canvas.addEventListener('webglcontextlost', run.onLost);
    canvas.addEventListener('webglcontextrestored', run.onRestored);

    // The canvas takes the video's box, and its backing store that box's
    // device pixels, so each of them is drawn once, never scaled again.
    run.resize = new ResizeObserver(([entry]) => {
      const box = entry.devicePixelContentBoxSize?.[0];
      const dpr = devicePixelRatio || 1;
      canvas.style.width = `${entry.contentRect.width}px`;
      canvas.style.height = `${entry.contentRect.height}px`;
      run.size = {
        width: Math.round(box ? box.inlineSize : entry.contentRect.width * dpr),
        height: Math.round(box ? box.blockSize : entry.contentRect.height * dpr),
      };
      this.draw(run); // a paused game's last frame, at the new size
    });
    try {
      run.resize.observe(video, { box: 'device-pixel-content-box' });
    } catch {
      run.resize.observe(video); // Safari: the CSS size times the ratio
    }
    video.after(canvas);

    const onFrame = () => {
      if (this.run !== run) return;
      run.handle = video.requestVideoFrameCallback(onFrame);
      this.draw(run);
    };
    run.handle = video.requestVideoFrameCallback(onFrame);
  }

  /** Draws the video's current frame, if it has one, through the filter. */
  draw(run) {
    const start = performance.now();
    const { gl, canvas, size } = run;
    const video = this.video;
    const src = { width: video.videoWidth, height: video.videoHeight };
    const params = filterParams(src, size);
    if (run.lost || !params || video.readyState < 2) return;
    if (canvas.width !== size.width || canvas.height !== size.height) {
      canvas.width = size.width;
      canvas.height = size.height;
    }
    gl.viewport(0, 0, size.width, size.height);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
    gl.uniform2f(run.uniforms.dst, size.width, size.height);
    gl.uniform2f(run.uniforms.src, src.width, src.height);
    gl.uniform2f(run.uniforms.strength, params.x, params.y);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    if (this.measuring) {
      gl.finish();
      this.times.add(performance.now() - start);
    }
    if (!run.drawn) {
      run.drawn = true;
      canvas.classList.add('drawn');
    }
  }

  /** Removes the canvas, ends the loop and gives the GL context back. */
  stop() {
    const run = this.run;
    if (!run) return;
    this.run = null;
    this.video.cancelVideoFrameCallback(run.handle);
    run.resize.disconnect();
    run.canvas.removeEventListener('webglcontextlost', run.onLost);
    run.canvas.removeEventListener('webglcontextrestored', run.onRestored);
    run.gl.getExtension('WEBGL_lose_context')?.loseContext();
    run.canvas.remove();
    this.times.clear();
  }

  unavailable(why) {
    console.warn(`telecart: screen filters unavailable: ${why}`);
    this.available = false;
    this.dispatchEvent(new Event('unavailable'));
  }
}

/** Compiles the filter's program and makes its triangle and texture; throws on a GL error. */
function setUp(gl, fragment, smooth) {
  const program = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, VERTEX], [gl.FRAGMENT_SHADER, fragment]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS) && !gl.isContextLost()) {
      throw new Error(`shader: ${gl.getShaderInfoLog(shader)}`);
    }
    gl.attachShader(program, shader);
  }
  gl.bindAttribLocation(program, 0, 'a');
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS) && !gl.isContextLost()) {
    throw new Error(`program: ${gl.getProgramInfoLog(program)}`);
  }
  gl.useProgram(program);

  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
  gl.enableVertexAttribArray(0);
  gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);

  gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
  // Any size in WebGL1 too: no mipmaps, no repeat.
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  setSampling(gl, smooth);
  gl.uniform1i(gl.getUniformLocation(program, 'uFrame'), 0);
  return {
    uniforms: {
      dst: gl.getUniformLocation(program, 'uDst'),
      src: gl.getUniformLocation(program, 'uSrc'),
      strength: gl.getUniformLocation(program, 'uStrength'),
    },
  };
}

// Sharp: each device pixel takes its game pixel's colour, as the video's
// image-rendering: pixelated does; smooth: blended, as its auto does.
function setSampling(gl, smooth) {
  const f = smooth ? gl.LINEAR : gl.NEAREST;
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, f);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, f);
}
