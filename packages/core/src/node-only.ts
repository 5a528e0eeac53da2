/** The error a function that needs Node (files on disk, Node's codecs) gives in a browser bundle. */
export function nodeOnly(name: string, instead: string): Error {
  return new Error(`${name} needs Node (it works with files on disk); in a browser, ${instead}`);
}
