import { SHAPES_VOCABULARY } from '@ppgn/data';
import { describe, expect, it } from 'vitest';
import {
  createVocabulary,
  editDistance,
  nearestWords,
  tokenizeCaption,
  vocabularyFromJSON,
} from './vocabulary.js';

describe('vocabulary', () => {
  const vocab = createVocabulary(SHAPES_VOCABULARY);

  it('puts <pad>, <bos>, <eos> first and the words after, in order', () => {
    expect(vocab.tokens.slice(0, 3)).toEqual(['<pad>', '<bos>', '<eos>']);
    expect([vocab.pad, vocab.bos, vocab.eos]).toEqual([0, 1, 2]);
    expect(vocab.words).toEqual(SHAPES_VOCABULARY);
    expect(vocab.size).toBe(SHAPES_VOCABULARY.length + 3);
    expect(vocab.idOf('a')).toBe(3 + SHAPES_VOCABULARY.indexOf('a'));
    expect(vocab.idOf('nope')).toBeUndefined();
    expect([0, 1, 2, 3].map((i) => vocab.isSpecial(i))).toEqual([true, true, true, false]);
    expect(createVocabulary(['b', 'a', 'b']).words).toEqual(['b', 'a']);
  });

  it('encodes lowercased words split at spaces and punctuation, and decodes back', () => {
    const ids = vocab.encode('A small Red square, left of: a  circle.');
    expect(ids.map((i) => vocab.tokens[i])).toEqual(['a', 'small', 'red', 'square', 'left', 'of', 'a', 'circle']);
    expect(vocab.decode(ids)).toBe('a small red square left of a circle');
    // <bos> and <pad> are skipped, <eos> ends the caption
    expect(vocab.decode([vocab.bos, ...ids.slice(0, 3), vocab.eos, ...ids.slice(3)])).toBe('a small red');
    expect(vocab.decode([vocab.bos, ids[0]!, vocab.pad, vocab.pad])).toBe('a');
    expect(vocab.encode('')).toEqual([]);
    expect(tokenizeCaption("  Hello,world!! x-y ")).toEqual(['hello', 'world', 'x', 'y']);
  });

  it('names the unknown word, the caption and the nearest known words', () => {
    expect(() => vocab.encode('a red sqare')).toThrow(
      `unknown word 'sqare' in "a red sqare"; nearest known: square, large, small, a, above`,
    );
    expect(() => vocab.encode('a purple circle')).toThrow(/^unknown word 'purple' in "a purple circle"; nearest known: /);
    // special tokens are not words of a caption
    expect(() => vocab.encode('a <eos>')).toThrow("unknown word 'eos'");
    expect(() => vocab.decode([99])).toThrow('decode: id 99 is outside the vocabulary (0..18)');
    expect(() => createVocabulary([])).toThrow('no words');
    expect(() => createVocabulary(['Red'])).toThrow("'Red' is not a single lowercase word");
    expect(() => createVocabulary(['left of'])).toThrow("'left of' is not a single lowercase word");
  });

  it('measures edit distance and ranks near words', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
    expect(nearestWords('bleu', ['red', 'blue', 'green'], 2)).toEqual(['blue', 'red']);
  });

  it('round-trips through JSON and refuses malformed files', () => {
    const back = vocabularyFromJSON(JSON.parse(JSON.stringify(vocab.toJSON())));
    expect(back.tokens).toEqual(vocab.tokens);
    expect(back.encode('a blue circle')).toEqual(vocab.encode('a blue circle'));
    expect(() => vocabularyFromJSON({ format: 'other' }, 'v.json')).toThrow('v.json: not a ppgn-caption-vocabulary v1 file');
    expect(() => vocabularyFromJSON({ format: 'ppgn-caption-vocabulary', version: 1, tokens: ['<bos>', '<pad>', '<eos>', 'a'] })).toThrow(
      'token 0 must be <pad>, got "<bos>"',
    );
  });
});
