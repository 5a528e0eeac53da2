/**
 * Paths that are folders on disk in Node and URLs in a browser: joined with '/', which Node
 * accepts on every platform, so the packages that read and write model folders need no
 * `node:path` and their loaders work from URLs too.
 */

/** `parts` joined with '/': trailing separators of each part dropped, '.' parts skipped. */
export function joinPath(...parts: string[]): string {
  const kept = parts.filter((p) => p !== '' && p !== '.');
  return kept.map((p, i) => (i === kept.length - 1 ? p : p.replace(/[\\/]+$/, ''))).join('/') || '.';
}

/** The folder holding `file` (everything before its last separator), '.' when there is none. */
export function parentPath(file: string): string {
  const trimmed = file.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  if (cut < 0) return '.';
  return cut === 0 ? trimmed.slice(0, 1) : trimmed.slice(0, cut);
}

/** Whether `p` is absolute: from a root ('/', '\\'), a drive ('C:') or a URL scheme ('http:'). */
export function isAbsolutePath(p: string): boolean {
  return /^([\\/]|[a-z]:|[a-z][a-z0-9+.-]+:)/i.test(p);
}
