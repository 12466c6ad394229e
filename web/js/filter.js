// The screen filter: a <canvas> over the <video> that draws each of its
// frames through a WebGL fragment shader (CRT scanlines with a light
// aperture-grille mask, or an LCD's pixel grid), when the player asks for
// one. Off, there is no canvas, no loop and no GL context at all.
//
// The video stays the source of the picture and the sound: it keeps its
// place and size under the canvas (not display:none, which may stop its
// decoding), and each frame it presents (requestVideoFrameCallback) is
// uploaded and drawn once, on the canvas's device pixels, the lines laid
// on the game's own pixels (videoWidth × videoHeight), so scanlines
// follow the game's lines at any size.
//
// The upload is the cost, not the shader. texImage2D(video) took 2-3 ms a
// frame in Chromium with SwiftShader (it converts and copies the frame
// synchronously); a frame from a software decoder (I420 in memory: VP8,
// and H.264 without a hardware decoder) is copied out whole with
// VideoFrame.copyTo, which resolves at once for such a frame, and its
// three planes go up as three small textures the shader turns back into
// colour: 0.4 ms. Any other frame (NV12 from a hardware decoder, on the
// GPU already) takes texImage2D(video), the GPU-to-GPU path there.
//
// The cost is measured only while asked (the stats overlay): from the
// frame's callback to gl.finish(), which waits for the GPU and so is never
// called in normal play.

import { FrameTimes, filterParams, parseFilter, yuvToRgb } from './model/filter.js';

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
uniform vec2 uDst;      // the canvas, in device pixels
uniform vec2 uSrc;      // the game's picture, in its pixels
uniform vec2 uStrength; // across and down, 0 to 1 (model/filter.js)
`;

// Where a pixel's colour comes from: the frame as one RGBA texture, or
// its Y, U and V planes (the chroma ones at half size, which the sampler
// scales up) and the matrix of its colour space.
const SOURCES = {
  element: `uniform sampler2D uFrame;
vec3 frame(vec2 uv) { return texture2D(uFrame, uv).rgb; }`,
  planes: `uniform sampler2D uY;
uniform sampler2D uU;
uniform sampler2D uV;
uniform mat3 uYuv;
uniform vec3 uYuvOffset;
vec3 frame(vec2 uv) {
  return uYuv * (vec3(texture2D(uY, uv).r, texture2D(uU, uv).r, texture2D(uV, uv).r) - uYuvOffset);
}`,
};

// Each game line is brightest at its centre and darkens toward its edges
// (a beam's profile, squared: one multiply), with a little gain to make
// up for the light the dark rows take. Across, every third device column
// favours one of red, green, blue: an aperture grille, faint.
const CRT = `void main() {
  vec2 uv = vec2(gl_FragCoord.x / uDst.x, 1.0 - gl_FragCoord.y / uDst.y);
  vec3 c = frame(uv);
  float d = fract(uv.y * uSrc.y) - 0.5;
  float scan = (1.0 - 2.8 * uStrength.y * d * d) * (1.0 + 0.1 * uStrength.y);
  float m = mod(floor(gl_FragCoord.x), 3.0);
  vec3 mask = 1.0 - 0.12 * uStrength.x * vec3(step(0.5, m), step(0.5, abs(m - 1.0)), step(m, 1.5));
  gl_FragColor = vec4(c * scan * mask, 1.0);
}`;

// The first device row and column of each game pixel are darker: the gaps
// between an LCD's cells.
const LCD = `void main() {
  vec2 uv = vec2(gl_FragCoord.x / uDst.x, 1.0 - gl_FragCoord.y / uDst.y);
  vec3 c = frame(uv);
  vec2 edge = step(fract(uv * uSrc), uSrc / uDst) * uStrength;
  gl_FragColor = vec4(c * (1.0 - 0.45 * max(edge.x, edge.y)), 1.0);
}`;

const FILTER_SHADERS = { crt: CRT, lcd: LCD };

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
    // Frames are copied out by planes until one cannot be.
    this.planes = typeof VideoFrame === 'function';
    this.smoothOn = false;
    this.measuring = false;
    this.times = new FrameTimes();
    this.run = null; // the running filter's canvas, GL objects and loop
  }

  /**
   * Shows the picture through a filter: "off", "crt" or "lcd". From one
   * filter to the other the canvas and context stay; only the program
   * changes.
   */
  setKind(kind) {
    kind = parseFilter(kind);
    if (kind === this.kind && (kind === 'off' || this.run || !this.available)) return;
    const run = this.run;
    if (run && kind !== 'off' && !run.lost) {
      this.kind = kind;
      this.times.clear();
      try {
        useProgram(run, kind, run.program.source);
      } catch (err) {
        this.stop();
        this.unavailable(err.message);
        return;
      }
      this.draw(run);
      return;
    }
    this.stop();
    this.kind = kind;
    if (kind !== 'off' && this.available) this.start();
  }

  /** Smooth or sharp scaling of the game's pixels, as the plain video has. */
  setSmooth(on) {
    this.smoothOn = !!on;
    const run = this.run;
    if (run && !run.lost) {
      setSampling(run.gl, run.textures, this.smoothOn);
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
    const run = { canvas, gl, size: { width: 0, height: 0 }, handle: 0, drawn: false, lost: false, busy: false, again: false };
    try {
      setUp(run, this.smoothOn);
      useProgram(run, this.kind, this.planes ? 'planes' : 'element');
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
      run.drawn = false;
      canvas.classList.remove('drawn');
    };
    run.onRestored = () => {
      try {
        setUp(run, this.smoothOn);
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
    // screen.js sizes the box on whole device pixels already, so its CSS
    // size times the ratio is exact (devicePixelContentBoxSize is not
    // everywhere, and under DevTools' device emulation it gives CSS
    // pixels).
    run.resize = new ResizeObserver(([entry]) => {
      const dpr = devicePixelRatio || 1;
      const { width, height } = entry.contentRect;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      run.size = { width: Math.round(width * dpr), height: Math.round(height * dpr) };
      this.draw(run); // a paused game's last frame, at the new size
    });
    run.resize.observe(video);
    video.after(canvas);

    const onFrame = () => {
      if (this.run !== run) return;
      run.handle = video.requestVideoFrameCallback(onFrame);
      this.draw(run);
    };
    run.handle = video.requestVideoFrameCallback(onFrame);
  }

  /**
   * Draws the video's current frame, if it has one, through the filter.
   * One draw at a time: one asked for during another's copy follows it.
   * A draw that fails ends the filter: the plain video is better than a
   * frozen or broken canvas.
   */
  async draw(run) {
    if (run.busy) {
      run.again = true;
      return;
    }
    run.busy = true;
    try {
      do {
        run.again = false;
        await this.drawOnce(run);
      } while (run.again && this.run === run);
    } catch (err) {
      if (this.run === run) {
        this.stop();
        this.unavailable(`drawing failed: ${err.message}`);
      }
    } finally {
      run.busy = false;
    }
  }

  async drawOnce(run) {
    const start = performance.now();
    const video = this.video;
    if (run.lost || video.readyState < 2 || !filterParams({ width: video.videoWidth, height: video.videoHeight }, run.size)) return;
    let src = null;
    if (this.planes) {
      src = await this.uploadPlanes(run);
      if (this.run !== run || run.lost) return; // stopped, or lost, during the copy
    }
    src ??= this.uploadElement(run);
    const { gl, canvas, size } = run;
    const params = filterParams(src, size);
    if (!params) return;
    if (canvas.width !== size.width || canvas.height !== size.height) {
      canvas.width = size.width;
      canvas.height = size.height;
    }
    gl.viewport(0, 0, size.width, size.height);
    const u = run.program.uniforms;
    gl.uniform2f(u.uDst, size.width, size.height);
    gl.uniform2f(u.uSrc, src.width, src.height);
    gl.uniform2f(u.uStrength, params.x, params.y);
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

  /**
   * Copies the current frame out by planes and uploads them; its size, or
   * null when the frame is not I420 or cannot be copied, which turns the
   * planes off for good: the element's upload serves from then on.
   */
  async uploadPlanes(run) {
    let frame;
    try {
      frame = new VideoFrame(this.video);
    } catch (err) {
      return this.noPlanes(err.message);
    }
    let layout;
    let colorSpace;
    try {
      if (frame.format !== 'I420') return this.noPlanes(`frames are ${frame.format}`);
      colorSpace = frame.colorSpace;
      const { width, height } = frame.visibleRect;
      const cw = (width + 1) >> 1;
      const ch = (height + 1) >> 1;
      layout = { width, height, cw, ch, planes: [{ offset: 0, stride: width }, { offset: width * height, stride: cw }, { offset: width * height + cw * ch, stride: cw }] };
      const bytes = width * height + 2 * cw * ch;
      if (run.buffer?.length !== bytes) run.buffer = new Uint8Array(bytes);
      await frame.copyTo(run.buffer, { layout: layout.planes });
    } catch (err) {
      return this.noPlanes(err.message);
    } finally {
      frame.close();
    }
    if (this.run !== run || run.lost) return null;
    if (run.program.source !== 'planes') useProgram(run, this.kind, 'planes');
    const { gl, textures, buffer } = run;
    const { width, height, cw, ch, planes } = layout;
    const sizes = [[width, height], [cw, ch], [cw, ch]];
    const fresh = run.planeSize?.width !== width || run.planeSize?.height !== height;
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    for (let i = 0; i < 3; i++) {
      const [w, h] = sizes[i];
      const data = buffer.subarray(planes[i].offset, planes[i].offset + w * h);
      gl.activeTexture(gl.TEXTURE0 + i);
      gl.bindTexture(gl.TEXTURE_2D, textures[i]);
      if (fresh) gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, w, h, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
      else gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, w, h, gl.LUMINANCE, gl.UNSIGNED_BYTE, data);
    }
    run.planeSize = { width, height };
    const space = JSON.stringify(colorSpace ?? {});
    if (run.space !== space) {
      run.space = space;
      const { matrix, offset } = yuvToRgb(colorSpace);
      gl.uniformMatrix3fv(run.program.uniforms.uYuv, false, matrix);
      gl.uniform3fv(run.program.uniforms.uYuvOffset, offset);
    }
    return { width, height };
  }

  noPlanes(why) {
    console.info(`telecart: screen filter uploads whole frames: ${why}`);
    this.planes = false;
    return null;
  }

  /** Uploads the video's current frame as one RGBA texture; its size. */
  uploadElement(run) {
    if (run.program.source !== 'element') useProgram(run, this.kind, 'element');
    const { gl, textures } = run;
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, textures[0]);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 4);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, this.video);
    run.planeSize = null;
    return { width: this.video.videoWidth, height: this.video.videoHeight };
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

/** Makes the triangle and the three textures (RGBA frame or Y; U; V) in a new or restored context. */
function setUp(run, smooth) {
  const { gl } = run;
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
  gl.enableVertexAttribArray(0);
  gl.vertexAttribPointer(0, 2, gl.FLOAT, false, 0, 0);
  run.textures = [0, 1, 2].map((i) => {
    const tex = gl.createTexture();
    gl.activeTexture(gl.TEXTURE0 + i);
    gl.bindTexture(gl.TEXTURE_2D, tex);
    // Any size in WebGL1 too: no mipmaps, no repeat.
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return tex;
  });
  setSampling(gl, run.textures, smooth);
  run.programs = new Map();
  run.planeSize = null;
  run.space = null;
  if (run.program) useProgram(run, run.program.kind, run.program.source);
}

/** Compiles (once a context) and uses the program of a filter with a source; throws on a GL error. */
function useProgram(run, kind, source) {
  const { gl } = run;
  const key = `${kind}/${source}`;
  let program = run.programs.get(key);
  if (!program) {
    program = compile(gl, `${HEAD}${SOURCES[source]}\n${FILTER_SHADERS[kind]}`);
    program.kind = kind;
    program.source = source;
    run.programs.set(key, program);
  }
  gl.useProgram(program.gl);
  const u = program.uniforms;
  if (source === 'element') gl.uniform1i(u.uFrame, 0);
  else [u.uY, u.uU, u.uV].forEach((loc, i) => gl.uniform1i(loc, i));
  run.program = program;
  run.space = null; // a new program has its colour matrix still to set
}

function compile(gl, fragment) {
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
  const uniforms = {};
  for (const name of ['uDst', 'uSrc', 'uStrength', 'uFrame', 'uY', 'uU', 'uV', 'uYuv', 'uYuvOffset']) {
    uniforms[name] = gl.getUniformLocation(program, name);
  }
  return { gl: program, uniforms };
}

// Sharp: each device pixel takes its game pixel's colour, as the video's
// image-rendering: pixelated does; smooth: blended, as its auto does.
function setSampling(gl, textures, smooth) {
  const f = smooth ? gl.LINEAR : gl.NEAREST;
  textures.forEach((tex, i) => {
    gl.activeTexture(gl.TEXTURE0 + i);
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, f);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, f);
  });
}
