import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAbsolutePath, joinPath, parentPath } from './paths.js';

describe('portable paths', () => {
  it('join folders as node:path does on POSIX, and URLs', () => {
    const cases: string[][] = [
      ['models/mnist', 'g'],
      ['models/mnist/', 'g'],
      ['/abs/dir', 'level-0', 'g'],
      ['dir', '.', 'g'],
      ['.', 'g'],
      ['dir', 'class-2', 'd'],
    ];
    for (const parts of cases) expect(joinPath(...parts), parts.join(' + ')).toBe(path.posix.join(...parts));
    expect(joinPath('http://host/models/', 'lapgan', 'pyramid.json')).toBe('http://host/models/lapgan/pyramid.json');
    expect(joinPath('/models/mnist/captioner', 'encoder')).toBe('/models/mnist/captioner/encoder');
  });

  it('take the parent folder as node:path does on POSIX', () => {
    for (const p of ['a/b/pyramid.json', '/a/pyramid.json', 'pyramid.json', 'a/b/', '/x']) expect(parentPath(p), p).toBe(path.posix.dirname(p));
    expect(parentPath('http://host/lapgan/pyramid.json')).toBe('http://host/lapgan');
    expect(parentPath('C:\\models\\lapgan\\pyramid.json')).toBe('C:\\models\\lapgan');
  });

  it('tell absolute paths and URLs from relative ones', () => {
    for (const p of ['/a', '\\a', 'C:\\a', 'c:/a', 'http://x/a', 'indexeddb://m']) expect(isAbsolutePath(p), p).toBe(true);
    for (const p of ['a', 'level-0', './a', '../a', 'class-1/g']) expect(isAbsolutePath(p), p).toBe(false);
  });
});
