import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { arrayDataset, type Dataset } from './dataset.js';
import { byCodePoint } from './image-folder.js';
import { decodeImageFile, resizeBytesInto } from './image-files.js';

/** The emoji image sets of the `emoji-datasource-<set>` npm packages. */
export type EmojiSet = 'twitter' | 'google' | 'apple' | 'facebook';

/**
 * The version of `emoji-datasource-twitter` the project is tested with: 2,625 PNGs of
 * 64x64 (30 MB unpacked; later versions add sprite sheets and reach 65 MB).
 */
export const EMOJI_PACKAGE_VERSION = '4.1.0';

/** Categories left out unless asked for: colour swatches and hair parts, not pictures. */
export const EMOJI_EXCLUDED_CATEGORIES: readonly string[] = ['Skin Tones', 'Component'];

/** Options of `emoji`. */
export interface EmojiOptions {
  /** Width and height of the images (default 32; the files are 64x64). */
  size?: number;
  /**
   * Categories to keep, in class order (e.g. ['Animals & Nature', 'Food & Drink']).
   * Default: every category of the package except `EMOJI_EXCLUDED_CATEGORIES`, sorted.
   */
  categories?: readonly string[];
  /** Which image set (default 'twitter'); needs the package `emoji-datasource-<set>`. */
  set?: EmojiSet;
  /** Grey level in [0, 1] the transparent emoji are composited onto (default 1, white). */
  background?: number;
  /** Also load every skin-tone variant as an item of its own (default false). */
  skinTones?: boolean;
  /** Root folder of the emoji-datasource package, when it cannot be resolved from here. */
  packageDir?: string;
}

/** One emoji item's metadata. */
export interface EmojiEntry {
  /** Lower-case name, e.g. "grinning face" (the caption). */
  name: string;
  /** Short name, e.g. "grinning". */
  shortName: string;
  /** Category as the package spells it, e.g. "Smileys & People". */
  category: string;
  /** Code points, e.g. "1F600". */
  unified: string;
  /** Path of the 64x64 PNG. */
  file: string;
}

/** An emoji dataset: labels are categories, captions the emoji names. */
export interface EmojiDataset extends Dataset {
  readonly captions: readonly string[];
  readonly entries: readonly EmojiEntry[];
}

interface RawEmoji {
  name?: string | null;
  short_name?: string;
  unified?: string;
  image?: string;
  category?: string;
  sort_order?: number;
  skin_variations?: Record<string, { unified?: string; image?: string } & Record<string, unknown>>;
  [key: string]: unknown;
}

const TONE_NAMES: Record<string, string> = {
  '1F3FB': 'light skin tone',
  '1F3FC': 'medium-light skin tone',
  '1F3FD': 'medium skin tone',
  '1F3FE': 'medium-dark skin tone',
  '1F3FF': 'dark skin tone',
};

const cache = new Map<string, Promise<EmojiDataset>>();

/**
 * Colour emoji from the optional `emoji-datasource-<set>` npm package (default
 * `emoji-datasource-twitter`, Twemoji graphics under CC-BY 4.0: credit "Twemoji by
 * Twitter"): each 64x64 RGBA PNG composited onto a grey `background` and area-resized to `size`,
 * labelled by category, captioned by its name. Items are in category order, then the
 * package's sort order. Results are cached per options for the life of the process.
 * When the package is absent the error says what to install:
 * `pnpm add emoji-datasource-twitter@4.1.0`.
 */
export function emoji(options: EmojiOptions = {}): Promise<EmojiDataset> {
  const key = JSON.stringify([
    options.size ?? 32,
    options.categories ?? null,
    options.set ?? 'twitter',
    options.background ?? 1,
    options.skinTones ?? false,
    options.packageDir ?? null,
  ]);
  let hit = cache.get(key);
  if (hit === undefined) {
    hit = loadEmoji(options);
    cache.set(key, hit);
    hit.catch(() => cache.delete(key));
  }
  return hit;
}

/** The root folder of `emoji-datasource-<set>`, or an error saying how to install it. */
export function resolveEmojiPackage(set: EmojiSet = 'twitter'): string {
  const pkg = `emoji-datasource-${set}`;
  const requires = [createRequire(import.meta.url), createRequire(join(process.cwd(), 'package.json'))];
  for (const req of requires) {
    for (const target of [`${pkg}/package.json`, pkg]) {
      try {
        return dirname(req.resolve(target));
      } catch {
        // try the next way
      }
    }
  }
  const version = set === 'twitter' ? `@${EMOJI_PACKAGE_VERSION}` : '';
  throw new Error(
    `emoji: the optional package ${pkg} is not installed. It holds the emoji images; install it beside ` +
      `@ppgn/data with \`pnpm add ${pkg}${version}\` (or \`npm install ${pkg}${version}\`), ` +
      'or pass options.packageDir',
  );
}

async function loadEmoji(options: EmojiOptions): Promise<EmojiDataset> {
  const { size = 32, set = 'twitter', background = 1, skinTones = false } = options;
  if (!Number.isInteger(size) || size < 1) throw new Error(`emoji: size must be a positive integer, got ${size}`);
  const root = options.packageDir ?? resolveEmojiPackage(set);
  const jsonFile = join(root, 'emoji.json');
  let raw: RawEmoji[];
  try {
    raw = JSON.parse(await readFile(jsonFile, 'utf8')) as RawEmoji[];
  } catch (err) {
    throw new Error(`emoji: cannot read ${jsonFile}: ${(err as Error).message}`);
  }
  const imgDir = join(root, 'img', set, '64');
  const has = `has_img_${set}`;
  const all = raw.filter((e) => typeof e.category === 'string' && typeof e.image === 'string' && e[has] !== false);
  const available = [...new Set(all.map((e) => e.category!))].sort(byCodePoint);
  const classNames = options.categories
    ? [...options.categories]
    : available.filter((c) => !EMOJI_EXCLUDED_CATEGORIES.includes(c));
  for (const c of classNames) {
    if (!available.includes(c)) {
      throw new Error(
        `emoji: unknown category ${JSON.stringify(c)}; ${`emoji-datasource-${set}`} has ${available.map((a) => JSON.stringify(a)).join(', ')}`,
      );
    }
  }
  const chosen = all
    .filter((e) => classNames.includes(e.category!))
    .sort((a, b) => classNames.indexOf(a.category!) - classNames.indexOf(b.category!) || (a.sort_order ?? 0) - (b.sort_order ?? 0));
  const entries: EmojiEntry[] = [];
  for (const e of chosen) {
    const name = (e.name ?? e.short_name?.replace(/_/g, ' ') ?? e.unified ?? '').toLowerCase();
    const base = { shortName: e.short_name ?? '', category: e.category! };
    entries.push({ ...base, name, unified: e.unified ?? '', file: join(imgDir, e.image!) });
    if (!skinTones || !e.skin_variations) continue;
    for (const [tones, v] of Object.entries(e.skin_variations)) {
      if (typeof v.image !== 'string' || v[has] === false) continue;
      const toneName = tones
        .split('-')
        .map((t) => TONE_NAMES[t.toUpperCase()] ?? t)
        .join(', ');
      entries.push({ ...base, name: `${name}: ${toneName}`, unified: v.unified ?? '', file: join(imgDir, v.image) });
    }
  }
  // Images listed in emoji.json but not shipped are left out.
  const bytes: Array<Uint8Array | undefined> = [];
  for (let i = 0; i < entries.length; i += 64) {
    bytes.push(...(await Promise.all(entries.slice(i, i + 64).map((e) => readIfPresent(e.file)))));
  }
  const kept = entries.flatMap((e, i) => (bytes[i] === undefined ? [] : [{ entry: e, data: bytes[i]! }]));
  const per = size * size * 3;
  const pixels = new Uint8Array(kept.length * per);
  kept.forEach(({ entry, data }, i) => {
    const img = decodeImageFile(data, entry.file, { channels: 3, background });
    resizeBytesInto(img, [size, size], pixels, i * per);
  });
  const dataset = arrayDataset({
    name: `emoji/${set}`,
    imageShape: [size, size, 3],
    classNames,
    labels: Int32Array.from(kept, ({ entry }) => classNames.indexOf(entry.category)),
    pixels,
    captions: kept.map(({ entry }) => entry.name),
  });
  return { ...dataset, captions: dataset.captions!, entries: kept.map((k) => k.entry), images: dataset.images };
}

async function readIfPresent(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`emoji: cannot read ${file}: ${(err as Error).message}`);
  }
}
