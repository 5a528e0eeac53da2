import { type CommandSpec, runCommand } from './args.js';
import { demoCommand } from './commands/demo.js';
import { evalCommand } from './commands/evaluate.js';
import { inpaintCommand } from './commands/inpaint.js';
import { lapganCommand } from './commands/lapgan.js';
import { nativeCommand } from './commands/native.js';
import { sampleCommand } from './commands/sample.js';
import { trainCommand } from './commands/train.js';
import { visualizeCommand } from './commands/visualize.js';

export const commands: CommandSpec[] = [demoCommand, sampleCommand, visualizeCommand, inpaintCommand, evalCommand, trainCommand, lapganCommand, nativeCommand];

function mainHelp(): string {
  const lines = ['ppgn <command> [flags]', '', 'Commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(12)}${c.summary}`);
  lines.push('', "Run 'ppgn <command> --help' for a command's flags.");
  return lines.join('\n');
}

/** Runs the ppgn command line; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === 'help') {
    console.log(mainHelp());
    return name === undefined ? 1 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`ppgn: unknown command '${name}'; commands: ${commands.map((c) => c.name).join(', ')}`);
    return 2;
  }
  if (cmd.raw) return cmd.raw(rest);
  return runCommand(cmd, rest);
}
