export { commandHelp, parseFlags, UsageError, type CommandSpec, type FlagSpec, type FlagSpecs } from './args.js';
export { commands, main } from './main.js';
