import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, QueryFailedError, Repository } from 'typeorm';
import { BadRequestError, ConflictError } from '../../core/errors/domain-error';
import { User, UserRole } from './entities/user.entity';
import { hashPassword } from './password';
import { passwordProblem } from './password-policy';

export interface NewUser {
  email: string;
  password: string;
  name: string;
  role?: UserRole;
}

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  /** An existing email is a conflict, never an update; a weak password is a 400 (password-policy.ts). */
  async create(input: NewUser): Promise<User> {
    const email = input.email.trim().toLowerCase();
    const problem = passwordProblem(input.password, email);
    if (problem) throw new BadRequestError(problem);
    const passwordHash = await hashPassword(input.password);
    try {
      const saved = await this.users.save(this.users.create({ email, name: input.name, passwordHash, role: input.role ?? 'user' }));
      return (await this.users.findOneByOrFail({ id: saved.id }));
    } catch (err) {
      if (err instanceof QueryFailedError && (err.driverError as { code?: string }).code === 'ER_DUP_ENTRY') {
        throw new ConflictError('A user with this email already exists');
      }
      throw err;
    }
  }

  findById(id: number): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /** From a replica, as every read; `primary` for a user a replica may not have yet (AuthService.login). */
  async findByEmailWithPassword(email: string, from: 'replica' | 'primary' = 'replica'): Promise<User | null> {
    const runner = from === 'primary' ? this.users.manager.connection.createQueryRunner('master') : undefined;
    try {
      return await this.users
        .createQueryBuilder('u', runner)
        .addSelect('u.passwordHash')
        .where('u.email = :email', { email: email.trim().toLowerCase() })
        .getOne();
    } finally {
      await runner?.release();
    }
  }

  /**
   * The ids among `ids` that belong to no user. A write that names users checks them in its own
   * transaction (`manager`): that reads the primary, where a user registered a moment ago already
   * is, while a replica may not have them yet (and would answer "unknown users").
   */
  async missing(ids: number[], manager: EntityManager = this.users.manager): Promise<number[]> {
    if (!ids.length) return [];
    const found = await manager.find(User, { select: { id: true }, where: { id: In(ids) } });
    const have = new Set(found.map((u) => u.id));
    return ids.filter((id) => !have.has(id));
  }
}
