import { Command, CommandRunner, Option } from 'nest-commander';
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
    if (!opts.email || !opts.password) {
      process.stderr.write('user:create needs --email and --password\n');
      process.exitCode = 2;
      return;
    }
    if (opts.password.length < 8) {
      process.stderr.write('user:create: the password must be at least 8 characters\n');
      process.exitCode = 2;
      return;
    }
    try {
      const user = await this.users.create({
        email: opts.email,
        password: opts.password,
        name: opts.name ?? opts.email.split('@')[0],
        role: opts.admin ? 'admin' : 'user',
      });
      process.stdout.write(`Created ${user.role} ${user.email} with id ${user.id}.\n`);
    } catch (err) {
      process.stderr.write(`user:create: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  }

  @Option({ flags: '--email <email>', description: 'Email address (unique)' })
  parseEmail(v: string): string {
    return v;
  }

  @Option({ flags: '--password <password>', description: 'Password, at least 8 characters' })
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
