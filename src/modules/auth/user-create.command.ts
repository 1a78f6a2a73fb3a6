import { Command, CommandRunner, Option } from 'nest-commander';
import { UsageError } from '../../core/cli/command-errors';
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
    if (!opts.email) throw new UsageError('needs --email');
    // A password on the command line lands in shell history and `ps`: without --password it is asked for.
    const password = opts.password ?? (await this.askPassword());
    const problem = passwordProblem(password, opts.email);
    if (problem) throw new UsageError(problem);
    const user = await this.users.create({
      email: opts.email,
      password,
      name: opts.name ?? opts.email.split('@')[0],
      role: opts.admin ? 'admin' : 'user',
    });
    process.stdout.write(`Created ${user.role} ${user.email} with id ${user.id}.\n`);
  }

  /** Hidden input, twice on a terminal; one line from a pipe. */
  private async askPassword(): Promise<string> {
    let password: string;
    try {
      password = await readPassword('Password: ');
    } catch (err) {
      throw new UsageError(`${(err as Error).message}; give --password or type it when asked`);
    }
    if (process.stdin.isTTY && (await readPassword('Password (again): ')) !== password) throw new UsageError('the passwords do not match');
    return password;
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
