/** The padding token: fills a caption's sequence after its end. Always id 0. */
export const PAD = '<pad>';
/** The begin-of-sentence token: the language model's first input. Always id 1. */
export const BOS = '<bos>';
/** The end-of-sentence token: the language model's last target. Always id 2. */
export const EOS = '<eos>';
/** The special tokens, in id order. */
export const SPECIAL_TOKENS = [PAD, BOS, EOS] as const;

/** Format tag of a saved vocabulary. */
export const VOCABULARY_FORMAT = 'ppgn-caption-vocabulary';

/** A saved vocabulary (`vocabulary.json`). */
export interface VocabularyJSON {
  format: typeof VOCABULARY_FORMAT;
  version: 1;
  /** Every token in id order, the special tokens first. */
  tokens: string[];
}

/**
 * Words <-> ids for captions. Ids 0, 1, 2 are `<pad>`, `<bos>`, `<eos>`; the words follow
 * in the order given to `createVocabulary`. A caption is lowercased and split on spaces and
 * punctuation; an unknown word is an error naming the nearest known words.
 */
export interface Vocabulary {
  /** Every token in id order (the special tokens first). */
  readonly tokens: readonly string[];
  /** The words only (no special tokens), in id order. */
  readonly words: readonly string[];
  /** Number of tokens, special ones included: the language model's output size. */
  readonly size: number;
  readonly pad: number;
  readonly bos: number;
  readonly eos: number;
  /** The id of a token, or undefined. */
  idOf(token: string): number | undefined;
  /** Word ids of a caption (no `<bos>`/`<eos>`); throws on an unknown word. */
  encode(caption: string): number[];
  /**
   * The caption of a list of ids: words joined by spaces, `<bos>` and `<pad>` skipped,
   * stopping at the first `<eos>`. Throws on an id outside the vocabulary.
   */
  decode(ids: readonly number[]): string;
  /** True for `<pad>`, `<bos>` and `<eos>`. */
  isSpecial(id: number): boolean;
  toJSON(): VocabularyJSON;
}

/** Splits a caption into lowercase words at spaces and punctuation. */
export function tokenizeCaption(caption: string): string[] {
  return caption
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

/** Levenshtein distance (insertions, deletions, substitutions each cost 1). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The `count` known words nearest to `word` by edit distance (ties in vocabulary order). */
export function nearestWords(word: string, known: readonly string[], count = 5): string[] {
  return known
    .map((w, i) => ({ w, i, d: editDistance(word, w) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, count)
    .map((x) => x.w);
}

/**
 * Builds a vocabulary over `words` (deduplicated, order kept, each a lowercase word as
 * `tokenizeCaption` produces). Ids 0..2 are `<pad>`, `<bos>`, `<eos>`.
 */
export function createVocabulary(words: Iterable<string>): Vocabulary {
  const list: string[] = [];
  const seen = new Set<string>();
  for (const w of words) {
    if (seen.has(w)) continue;
    const parts = tokenizeCaption(w);
    if (parts.length !== 1 || parts[0] !== w) {
      throw new Error(`createVocabulary: '${w}' is not a single lowercase word (captions split into [${parts.join(', ')}])`);
    }
    seen.add(w);
    list.push(w);
  }
  if (list.length === 0) throw new Error('createVocabulary: no words given');
  const tokens = [...SPECIAL_TOKENS, ...list];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  const vocab: Vocabulary = {
    tokens,
    words: list,
    size: tokens.length,
    pad: 0,
    bos: 1,
    eos: 2,
    idOf: (token) => ids.get(token),
    encode(caption) {
      return tokenizeCaption(caption).map((w) => {
        const id = ids.get(w);
        if (id === undefined || id < SPECIAL_TOKENS.length) {
          throw new Error(
            `unknown word '${w}' in ${JSON.stringify(caption)}; nearest known: ${nearestWords(w, list).join(', ')}`,
          );
        }
        return id;
      });
    },
    decode(idList) {
      const out: string[] = [];
      for (const id of idList) {
        if (!Number.isInteger(id) || id < 0 || id >= tokens.length) {
          throw new Error(`decode: id ${id} is outside the vocabulary (0..${tokens.length - 1})`);
        }
        if (id === vocab.eos) break;
        if (id === vocab.pad || id === vocab.bos) continue;
        out.push(tokens[id]!);
      }
      return out.join(' ');
    },
    isSpecial: (id) => id >= 0 && id < SPECIAL_TOKENS.length,
    toJSON: () => ({ format: VOCABULARY_FORMAT, version: 1, tokens: [...tokens] }),
  };
  return vocab;
}

/** Rebuilds a vocabulary from `toJSON()` output; `where` names the source in errors. */
export function vocabularyFromJSON(json: unknown, where = 'vocabulary'): Vocabulary {
  const j = json as Partial<VocabularyJSON> | null;
  if (j === null || typeof j !== 'object' || j.format !== VOCABULARY_FORMAT || j.version !== 1) {
    throw new Error(`${where}: not a ${VOCABULARY_FORMAT} v1 file`);
  }
  const tokens = j.tokens;
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new Error(`${where}: "tokens" must be an array of strings`);
  }
  SPECIAL_TOKENS.forEach((s, i) => {
    if (tokens[i] !== s) throw new Error(`${where}: token ${i} must be ${s}, got ${JSON.stringify(tokens[i])}`);
  });
  return createVocabulary(tokens.slice(SPECIAL_TOKENS.length));
}
