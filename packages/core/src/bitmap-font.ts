/**
 * A tiny built-in bitmap font for labels in image grids: printable ASCII (space to `~`),
 * each glyph 5 pixels wide and 7 tall on a 8-row cell whose last row holds descenders
 * (g, j, p, q, y, comma). Stored as data: 5 column bytes per glyph, bit 0 the top row.
 * Characters outside the set are drawn as `?`.
 */

/** Width of a glyph in font pixels. */
export const GLYPH_WIDTH = 5;
/** Height of a glyph cell in font pixels (7 rows + a descender row). */
export const GLYPH_HEIGHT = 8;
/** Horizontal advance per character in font pixels (glyph + 1 column of space). */
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

// prettier-ignore
const GLYPHS: readonly string[] = [
  '0000000000', // ' '
  '00005f0000', // !
  '0007000700', // "
  '147f147f14', // #
  '242a7f2a12', // $
  '2313086462', // %
  '3649552250', // &
  '0005030000', // '
  '001c224100', // (
  '0041221c00', // )
  '14083e0814', // *
  '08083e0808', // +
  '00a0600000', // ,
  '0808080808', // -
  '0060600000', // .
  '2010080402', // /
  '3e5149453e', // 0
  '00427f4000', // 1
  '4261514946', // 2
  '2141454b31', // 3
  '1814127f10', // 4
  '2745454539', // 5
  '3c4a494930', // 6
  '0171090503', // 7
  '3649494936', // 8
  '064949291e', // 9
  '0036360000', // :
  '0056360000', // ;
  '0814224100', // <
  '1414141414', // =
  '0041221408', // >
  '0201510906', // ?
  '324979413e', // @
  '7e1111117e', // A
  '7f49494936', // B
  '3e41414122', // C
  '7f4141221c', // D
  '7f49494941', // E
  '7f09090901', // F
  '3e4149497a', // G
  '7f0808087f', // H
  '00417f4100', // I
  '2040413f01', // J
  '7f08142241', // K
  '7f40404040', // L
  '7f020c027f', // M
  '7f0408107f', // N
  '3e4141413e', // O
  '7f09090906', // P
  '3e4151215e', // Q
  '7f09192946', // R
  '4649494931', // S
  '01017f0101', // T
  '3f4040403f', // U
  '1f2040201f', // V
  '3f4038403f', // W
  '6314081463', // X
  '0708700807', // Y
  '6151494543', // Z
  '007f414100', // [
  '0204081020', // backslash
  '0041417f00', // ]
  '0402010204', // ^
  '4040404040', // _
  '0001020400', // `
  '2054545478', // a
  '7f48444438', // b
  '3844444420', // c
  '384444487f', // d
  '3854545418', // e
  '087e090102', // f
  '18a4a4a47c', // g
  '7f08040478', // h
  '00447d4000', // i
  '4080847d00', // j
  '7f10284400', // k
  '00417f4000', // l
  '7c04180478', // m
  '7c08040478', // n
  '3844444438', // o
  'fc24242418', // p
  '18242418fc', // q
  '7c08040408', // r
  '4854545420', // s
  '043f444020', // t
  '3c4040207c', // u
  '1c2040201c', // v
  '3c4030403c', // w
  '4428102844', // x
  '1ca0a0a07c', // y
  '4464544c44', // z
  '0008364100', // {
  '00007f0000', // |
  '0041360800', // }
  '0804081008', // ~
];

const FIRST = 32;
const FALLBACK = '?'.charCodeAt(0) - FIRST;

/** Column bytes of a character's glyph (5 numbers, bit 0 = top row). */
export function glyphColumns(char: string): number[] {
  const code = char.charCodeAt(0) - FIRST;
  const hex = GLYPHS[code >= 0 && code < GLYPHS.length ? code : FALLBACK]!;
  const cols: number[] = [];
  for (let i = 0; i < GLYPH_WIDTH; i++) cols.push(parseInt(hex.slice(2 * i, 2 * i + 2), 16));
  return cols;
}

/** Width in pixels of `text` drawn at integer `scale` (no trailing space column). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * GLYPH_ADVANCE - 1) * scale;
}

/** A raw interleaved image (row-major, `channels` values per pixel) to draw into. */
export interface RawImage {
  data: Float32Array | Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

/**
 * Draws `text` with its top-left corner at (x, y), each font pixel a `scale` x `scale`
 * block of `color` (one value per channel, or one value for all). Pixels falling outside
 * the image are skipped.
 */
export function drawText(
  image: RawImage,
  text: string,
  x: number,
  y: number,
  options: { scale?: number; color?: number | readonly number[] } = {},
): void {
  const scale = Math.max(1, Math.floor(options.scale ?? 1));
  const { data, width, height, channels } = image;
  const color = options.color ?? 0;
  const values = Array.from({ length: channels }, (_, c) =>
    typeof color === 'number' ? color : (color[Math.min(c, color.length - 1)] ?? 0),
  );
  for (let k = 0; k < text.length; k++) {
    const cols = glyphColumns(text[k]!);
    const gx = x + k * GLYPH_ADVANCE * scale;
    for (let col = 0; col < GLYPH_WIDTH; col++) {
      const bits = cols[col]!;
      if (bits === 0) continue;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        if (((bits >> row) & 1) === 0) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + row * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = gx + col * scale + dx;
            if (px < 0 || px >= width) continue;
            const at = (py * width + px) * channels;
            for (let c = 0; c < channels; c++) data[at + c] = values[c]!;
          }
        }
      }
    }
  }
}
