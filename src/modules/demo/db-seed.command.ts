import { randomBytes } from 'node:crypto';
import { UsageError } from '../../core/cli/command-errors';
import { Command, CommandRunner, Option } from 'nest-commander';
import { runInRequestContext } from '../../core/database/request-context';
import { UsersService } from '../auth/users.service';
import { ChatService } from '../chat/chat.service';
import { ProjectsService } from '../projects/projects.service';

interface DbSeedOptions {
  demo?: boolean;
}

/** A password that passes the policy and is new every run: a demo never ships a known credential. */
const demoPassword = () => `demo-${randomBytes(9).toString('base64url')}`;

/**
 * `db:seed --demo`: an admin, two users, a project, a chat room and a few
 * messages, with the credentials printed, so a newcomer can sign in and click
 * around at once. Every run makes new accounts (fresh suffix); nothing
 * existing is changed.
 */
@Command({ name: 'db:seed', description: 'Fill a demo: an admin, users, a project, a room and messages (--demo); credentials are printed' })
export class DbSeedCommand extends CommandRunner {
  constructor(
    private readonly users: UsersService,
    private readonly projects: ProjectsService,
    private readonly chat: ChatService,
  ) {
    super();
  }

  async run(_args: string[], opts: DbSeedOptions): Promise<void> {
    if (!opts.demo) throw new UsageError('only --demo is available (it creates new demo accounts and data)');
    await runInRequestContext(() => this.seed(), {});
  }

  private async seed(): Promise<void> {
    const tag = randomBytes(3).toString('hex');
    const accounts = [
      { email: `admin-${tag}@demo.test`, name: 'Ada Admin', role: 'admin' as const },
      { email: `alice-${tag}@demo.test`, name: 'Alice', role: 'user' as const },
      { email: `bob-${tag}@demo.test`, name: 'Bob', role: 'user' as const },
    ];
    const made: { email: string; password: string; id: number; role: string }[] = [];
    for (const a of accounts) {
      const password = demoPassword();
      const user = await this.users.create({ ...a, password });
      made.push({ email: user.email, password, id: user.id, role: user.role });
    }
    const [, alice, bob] = made;
    const project = await this.projects.create(alice.id, `Demo project ${tag}`, [bob.id]);
    const room = await this.chat.createRoom(alice.id, { name: `Demo room ${tag}`, memberIds: [bob.id] });
    await this.chat.post(alice.id, room.id, 'Hello Bob, welcome to Switchboard.');
    await this.chat.post(bob.id, room.id, 'Hi Alice! Start an analysis on the demo project and watch it live.');
    await this.chat.post(alice.id, room.id, 'POST /api/projects/' + project.id + '/analyses and listen on /realtime.');
    const lines = [
      'Demo data created:',
      ...made.map((u) => `  ${u.role.padEnd(5)} ${u.email}  password: ${u.password}  (id ${u.id})`),
      `  project ${project.id} "${project.name}" (Alice owns it, Bob is a member)`,
      `  room    ${room.id} "${room.name}" with 3 messages`,
      'Sign in with POST /api/auth/login {email, password}; the API is described at http://localhost:3000/docs, clients in docs/clients.md.',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }

  @Option({ flags: '--demo', description: 'Create the demo accounts and data' })
  parseDemo(): boolean {
    return true;
  }
}
