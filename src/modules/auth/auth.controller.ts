import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { NoWriteLimit } from '../../core/http/write-throttle.guard';
import { CurrentUser, Public } from '../../core/session/auth.decorators';
import type { Principal } from '../../core/session/principal';
import { SESSION_COOKIE } from '../../core/session/session.middleware';
import { Tokens } from '../../core/session/tokens';
import { AuthService } from './auth.service';
import { LoginDto, RegisterDto } from './dto/auth.dto';
import { User, userView, UserView } from './entities/user.entity';
import { LoginThrottle } from './login-throttle';

function startSession(req: Request, user: User): Promise<void> {
  // A new session id on every login: no session fixation.
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(err as Error);
      req.session.userId = user.id;
      req.session.role = user.role;
      req.session.save((e) => (e ? reject(e as Error) : resolve()));
    }),
  );
}

@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly tokens: Tokens,
    private readonly throttle: LoginThrottle,
  ) {}

  @Public()
  @Post('register')
  async register(@Req() req: Request, @Body() dto: RegisterDto): Promise<UserView> {
    await this.throttle.register(req.ip ?? 'unknown');
    const user = await this.auth.register(dto.email, dto.password, dto.name);
    await startSession(req, user);
    return userView(user);
  }

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Body() dto: LoginDto): Promise<UserView> {
    const ip = req.ip ?? 'unknown';
    await this.throttle.attempt(dto.email, ip);
    const user = await this.auth.login(dto.email, dto.password);
    await this.throttle.succeeded(dto.email, ip);
    await startSession(req, user);
    return userView(user);
  }

  @Post('logout')
  @NoWriteLimit()
  @HttpCode(204)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CurrentUser() me: Principal): Promise<void> {
    await this.tokens.revoke(me);
    if (req.session?.userId) {
      await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err as Error) : resolve())));
    }
    res.clearCookie(SESSION_COOKIE);
  }

  @Get('me')
  async me(@CurrentUser() me: Principal): Promise<UserView> {
    return userView(await this.auth.me(me.id));
  }

  @Post('token')
  @HttpCode(200)
  token(@CurrentUser() me: Principal): Promise<{ token: string; expiresIn: number }> {
    return this.tokens.issue(me.id, me.role);
  }
}
