import { runNativeCli } from '@ppgn/backend';
import type { CommandSpec } from '../args.js';

/** `ppgn native`: builds tfjs-node's binding against a TensorFlow C library already here. */
export const nativeCommand: CommandSpec = {
  name: 'native',
  summary: 'build native TensorFlow bindings from a local TensorFlow (pip, wheel or libtensorflow)',
  usage: 'native [--from-pip | --wheel FILE | --libtensorflow DIR] [flags]',
  flags: {},
  run: async () => {},
  raw: (argv) => runNativeCli(argv),
};
