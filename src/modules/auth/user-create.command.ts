import { Command, CommandRunner, Option } from 'nest-commander';
import { readPassword } from './password-prompt';
import { passwordProblem } from './password-policy';
import { UsersService } from './users.service';

interface UserCreateOptions {
  email?: string;
  password?: string;
  name?: string;
  admin?: boolean;
}

@Command({ name: 'user:create', description: 'Create a user (an admin with --admin); an existing email is an error' })
export class UserCreateCommand extends CommandRunner {
  constructor(private readonly users: UsersService) {
    super();
  }

  async run(_args: string[], opts: UserCreateOptions): Promise<void> {
    if (!opts.email) {
      process.stderr.write('user:create needs --email\n');
      process.exitCode = 2;
      return;
    }
    // A password on the command line lands in shell history and `ps`: without --password it is asked for.
    const password = opts.password ?? (await this.askPassword());
    if (password === undefined) return;
    const problem = passwordProblem(password, opts.email);
    if (problem) {
      process.stderr.write(`user:create: ${problem}\n`);
      process.exitCode = 2;
      return;
    }
    try {
      const user = await this.users.create({
        email: opts.email,
        password,
        name: opts.name ?? opts.email.split('@')[0],
        role: opts.admin ? 'admin' : 'user',
      });
      process.stdout.write(`Created ${user.role} ${user.email} with id ${user.id}.\n`);
    } catch (err) {
      process.stderr.write(`user:create: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }

  /** Hidden input, twice on a terminal; one line from a pipe. Undefined (exit code set) when it cannot be had. */
  private async askPassword(): Promise<string | undefined> {
    try {
      const password = await readPassword('Password: ');
      if (process.stdin.isTTY && (await readPassword('Password (again): ')) !== password) {
        process.stderr.write('user:create: the passwords do not match\n');
        process.exitCode = 2;
        return undefined;
      }
      return password;
    } catch (err) {
      process.stderr.write(`user:create: ${(err as Error).message}; give --password or type it when asked\n`);
      process.exitCode = 2;
      return undefined;
    }
  }

  @Option({ flags: '--email <email>', description: 'Email address (unique)' })
  parseEmail(v: string): string {
    return v;
  }

  @Option({ flags: '--password <password>', description: 'Password, at least 8 characters, not a common one (asked for, hidden, when left out)' })
  parsePassword(v: string): string {
    return v;
  }

  @Option({ flags: '--name <name>', description: 'Display name' })
  parseName(v: string): string {
    return v;
  }

  @Option({ flags: '--admin', description: 'Give the user the admin role' })
  parseAdmin(): boolean {
    return true;
  }
}
