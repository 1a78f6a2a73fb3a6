import type { Command as CommanderCommand } from 'commander';
import { Command, CommandRunner, Option } from 'nest-commander';

interface Listed {
  name: string;
  description: string;
}

/** `php artisan list`: every command, grouped by namespace (the part before ":"). */
@Command({ name: 'list', description: 'List commands, grouped by namespace' })
export class ListCommand extends CommandRunner {
  run(_args: string[], opts: { json?: boolean }): Promise<void> {
    const commands = listCommands(this.command.parent ?? this.command);
    process.stdout.write(opts.json ? JSON.stringify(commands) + '\n' : formatList(commands));
    return Promise.resolve();
  }

  @Option({ flags: '--json', description: 'JSON: [{name, description}]' })
  parseJson(): boolean {
    return true;
  }
}

export function listCommands(program: CommanderCommand): Listed[] {
  return program.commands
    .filter((c) => c.name() !== 'help')
    .map((c) => ({ name: c.name(), description: c.description() }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Commands without a namespace first, under "Available commands:", then one heading per namespace. */
export function formatList(commands: Listed[]): string {
  const groups = new Map<string, Listed[]>([['', []]]);
  for (const c of commands) {
    const ns = c.name.includes(':') ? c.name.slice(0, c.name.indexOf(':')) : '';
    groups.set(ns, [...(groups.get(ns) ?? []), c]);
  }
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  const lines = ['Usage:', '  switchboard <command> [options]', '', 'Options:', '  -h, --help     Help for a command (switchboard <command> --help)', '  -V, --version  Version', '', 'Available commands:'];
  for (const [ns, cmds] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    if (ns) lines.push(` ${ns}`);
    for (const c of cmds) lines.push(`  ${c.name.padEnd(width)}${c.description}`);
  }
  return lines.join('\n') + '\n';
}
