import { Injectable } from '@nestjs/common';
import { StickyWindow } from '../../core/database/sticky-window';
import { UnauthorizedError } from '../../core/errors/domain-error';
import { User } from './entities/user.entity';
import { DUMMY_HASH, verifyPassword } from './password';
import { UsersService } from './users.service';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sticky: StickyWindow,
  ) {}

  /**
   * The new user's read-your-writes window starts here: the request wrote before it had a user, so the
   * router could not start it, and the user's next requests (on any process) must find them on the primary
   * while a replica has not got the row yet.
   */
  async register(email: string, password: string, name: string): Promise<User> {
    const user = await this.users.create({ email, password, name });
    await this.sticky.recordWrite(String(user.id));
    return user;
  }

  async login(email: string, password: string): Promise<User> {
    // Not on the replica: maybe registered a moment ago (on another device, another process) and not
    // replicated yet. The primary decides; only unknown emails pay the second read (and LoginThrottle caps them).
    const user = (await this.users.findByEmailWithPassword(email)) ?? (await this.users.findByEmailWithPassword(email, 'primary'));
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw new UnauthorizedError('Invalid email or password');
    return user;
  }

  async me(id: number): Promise<User> {
    const user = await this.users.findById(id);
    if (!user) throw new UnauthorizedError('The user no longer exists');
    return user;
  }
}
