#!/usr/bin/env node
/** `ppgn-native`: builds the native TensorFlow binding (the same as `ppgn native`). */
import { runNativeCli } from './args.js';

runNativeCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  },
);
