import { Command as CommanderCommand, Option as CommanderOption } from 'commander';
import { formatList, listCommands } from './list.command';

const COMMAND_META = 'CommandBuilder:Command:Meta';
const OPTION_META = 'CommandBuilder:Option:Meta';

interface CommandMeta {
  name: string;
  description?: string;
  arguments?: string;
}

interface OptionMeta {
  flags: string;
  description?: string;
}

/**
 * Help and `list` without booting the application: they must answer on a machine where nothing
 * runs yet (booting connects to MariaDB and Redis and retries for ten seconds). The program is
 * built from the same @Command/@Option metadata nest-commander reads, so it cannot drift.
 */
export function buildHelpProgram(commands: ReadonlyArray<abstract new (...args: never[]) => unknown>): CommanderCommand {
  const program = new CommanderCommand('switchboard');
  for (const cls of commands) {
    const meta = Reflect.getMetadata(COMMAND_META, cls) as CommandMeta | undefined;
    if (!meta) continue;
    const cmd = new CommanderCommand(meta.name).description(meta.description ?? '');
    if (meta.arguments) cmd.arguments(meta.arguments);
    const proto = cls.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const method = proto[key];
      const option = typeof method === 'function' ? (Reflect.getMetadata(OPTION_META, method) as OptionMeta | undefined) : undefined;
      if (option) cmd.addOption(new CommanderOption(option.flags, option.description));
    }
    program.addCommand(cmd);
  }
  return program;
}

/**
 * Answers `--help`, `-h`, `help [command]`, `list [--json]`, `<command> --help` and no arguments
 * at all (artisan lists its commands then). Returns false for anything else.
 */
export function answerHelp(argv: string[], program: CommanderCommand, out: (s: string) => void): boolean {
  const [first, ...rest] = argv;
  const isHelpFlag = (a: string | undefined) => a === '--help' || a === '-h';
  if (first === undefined || isHelpFlag(first) || (first === 'help' && rest.length === 0)) {
    out(formatList(listCommands(program)));
    return true;
  }
  if (first === 'list' && rest.every((a) => a === '--json')) {
    const commands = listCommands(program);
    out(rest.length ? JSON.stringify(commands) + '\n' : formatList(commands));
    return true;
  }
  const target = first === 'help' ? rest[0] : rest.some(isHelpFlag) ? first : undefined;
  const cmd = target === undefined ? undefined : program.commands.find((c) => c.name() === target);
  if (!cmd) return false;
  out(cmd.helpInformation());
  return true;
}

/** A first argument that names no command (and is no option): said once, before any connection is made. */
export function unknownCommand(argv: string[], program: CommanderCommand): string | undefined {
  const [first] = argv;
  if (first === undefined || first.startsWith('-') || first === 'help') return undefined;
  if (program.commands.some((c) => c.name() === first)) return undefined;
  return `Command "${first.slice(0, 60)}" is not defined. Run \`switchboard list\` to see the commands.`;
}
