import { decodeJpegBytes, decodePngBytes, type ImageBytes } from '@ppgn/core';

const isPng = (b: Uint8Array) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8;

/** How `decodeImageFile` turns a file into pixels. */
export interface DecodeOptions {
  /** 3 for RGB, 1 for grey (luma, ITU-R 601 weights). */
  channels: 1 | 3;
  /** Grey level in [0, 1] that transparent pixels are composited over. */
  background: number;
}

/**
 * Decodes PNG or JPEG bytes (told apart by their signature, not the file name) to 8-bit
 * pixels with core's decoders. Errors start with "cannot decode FILE".
 */
export function decodeImageFile(bytes: Uint8Array, file: string, options: DecodeOptions): ImageBytes {
  try {
    if (isPng(bytes)) return decodePngBytes(bytes, options, file);
    if (isJpeg(bytes)) return decodeJpegBytes(bytes, options, file);
  } catch (err) {
    throw new Error(`cannot decode ${file}: ${(err as Error).message}`);
  }
  throw new Error(`cannot decode ${file}: not a PNG or JPEG file (${bytes.length} bytes)`);
}

/** The centre crop of `img` with the aspect ratio width:height = `aspect`. */
export function cropToAspect(img: ImageBytes, aspect: number): ImageBytes {
  const { channels } = img;
  let { width, height } = img;
  let x0 = 0;
  let y0 = 0;
  if (width / height > aspect) {
    const w = Math.max(1, Math.round(height * aspect));
    x0 = Math.floor((width - w) / 2);
    width = w;
  } else if (width / height < aspect) {
    const h = Math.max(1, Math.round(width / aspect));
    y0 = Math.floor((height - h) / 2);
    height = h;
  } else return img;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < height; i++) {
    const src = ((y0 + i) * img.width + x0) * channels;
    data.set(img.data.subarray(src, src + width * channels), i * width * channels);
  }
  return { data, width, height, channels };
}

/**
 * An 8-bit image resized to [H, W] (area average down, bilinear up; see `resizePixels`)
 * and written as bytes into `out` at `offset`. Same-size images are copied exactly.
 */
export function resizeBytesInto(img: ImageBytes, [H, W]: readonly [number, number], out: Uint8Array, offset: number): void {
  const { width, height, channels, data } = img;
  if (width === W && height === H) {
    out.set(data, offset);
    return;
  }
  const floats = Float32Array.from(data, (v) => v / 255);
  const resized = resizePixels(floats, [height, width, channels], [H, W]);
  for (let i = 0; i < resized.length; i++) {
    out[offset + i] = Math.round(Math.min(1, Math.max(0, resized[i]!)) * 255);
  }
}

interface Taps {
  index: Int32Array;
  weight: Float32Array;
}

/** Per output position along one axis: the source positions and weights that make it. */
function axisTaps(n: number, N: number): Taps[] {
  const taps: Taps[] = [];
  if (N === n) {
    for (let o = 0; o < N; o++) taps.push({ index: Int32Array.of(o), weight: Float32Array.of(1) });
  } else if (N < n) {
    // area: average of the source interval [o, o + 1) * n / N, partial pixels weighted
    const scale = n / N;
    for (let o = 0; o < N; o++) {
      const lo = o * scale;
      const hi = (o + 1) * scale;
      const index: number[] = [];
      const weight: number[] = [];
      for (let s = Math.floor(lo); s < Math.min(n, Math.ceil(hi)); s++) {
        const overlap = Math.min(hi, s + 1) - Math.max(lo, s);
        if (overlap > 1e-9) {
          index.push(s);
          weight.push(overlap / scale);
        }
      }
      taps.push({ index: Int32Array.from(index), weight: Float32Array.from(weight) });
    }
  } else {
    // bilinear with pixel centres at (i + 0.5), edges clamped
    for (let o = 0; o < N; o++) {
      const src = Math.min(n - 1, Math.max(0, ((o + 0.5) * n) / N - 0.5));
      const s0 = Math.floor(src);
      const t = src - s0;
      const s1 = Math.min(s0 + 1, n - 1);
      taps.push({ index: Int32Array.of(s0, s1), weight: Float32Array.of(1 - t, t) });
    }
  }
  return taps;
}

/**
 * Resizes HWC float pixels from [h, w] to [H, W], each axis on its own: the area average
 * when shrinking (exact box filter for whole factors, e.g. 64 -> 32), bilinear when
 * growing. Returns the input itself when the size is unchanged.
 */
export function resizePixels(
  pixels: Float32Array,
  [h, w, c]: readonly [number, number, number],
  [H, W]: readonly [number, number],
): Float32Array {
  if (h === H && w === W) return pixels;
  const across = axisTaps(w, W);
  const down = axisTaps(h, H);
  const rows = new Float32Array(h * W * c);
  for (let i = 0; i < h; i++) {
    for (let o = 0; o < W; o++) {
      const { index, weight } = across[o]!;
      for (let k = 0; k < index.length; k++) {
        const src = (i * w + index[k]!) * c;
        const dst = (i * W + o) * c;
        for (let ch = 0; ch < c; ch++) rows[dst + ch] = rows[dst + ch]! + weight[k]! * pixels[src + ch]!;
      }
    }
  }
  const out = new Float32Array(H * W * c);
  for (let o = 0; o < H; o++) {
    const { index, weight } = down[o]!;
    for (let k = 0; k < index.length; k++) {
      const src = index[k]! * W * c;
      const dst = o * W * c;
      const wk = weight[k]!;
      for (let j = 0; j < W * c; j++) out[dst + j] = out[dst + j]! + wk * rows[src + j]!;
    }
  }
  return out;
}
