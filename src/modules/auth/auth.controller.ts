import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { NoWriteLimit } from '../../core/http/write-throttle.guard';
import { RealtimeService } from '../../core/realtime/realtime.contract';
import { CurrentUser, Public } from '../../core/session/auth.decorators';
import { credentialTag } from '../../core/session/credential-tag';
import type { Principal } from '../../core/session/principal';
import { ownNextSession, SESSION_COOKIE } from '../../core/session/session-cookie';
import { Tokens } from '../../core/session/tokens';
import { UserCredentials } from '../../core/session/user-credentials';
import { AuthService } from './auth.service';
import { LoginDto, RegisterDto } from './dto/auth.dto';
import { User, userView, UserView } from './entities/user.entity';
import { LoginThrottle } from './login-throttle';

function startSession(req: Request, user: User): Promise<void> {
  // A new session id on every login: no session fixation.
  ownNextSession(req, user.id); // the new id names its user (session-cookie.ts)
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => {
      if (err) return reject(err as Error);
      req.session.userId = user.id;
      req.session.role = user.role;
      req.session.save((e) => (e ? reject(e as Error) : resolve()));
    }),
  );
}

function destroySession(req: Request): Promise<void> {
  return new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err as Error) : resolve())));
}

@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly tokens: Tokens,
    private readonly credentials: UserCredentials,
    private readonly realtime: RealtimeService,
    private readonly throttle: LoginThrottle,
  ) {}

  /** Starts the session and lists it under the user, for logout-all. */
  private async signIn(req: Request, user: User): Promise<void> {
    await startSession(req, user);
    await this.credentials.sessionStarted(user.id, req.sessionID);
  }

  @Public()
  @Post('register')
  async register(@Req() req: Request, @Body() dto: RegisterDto): Promise<UserView> {
    await this.throttle.register(req.ip ?? 'unknown');
    const user = await this.auth.register(dto.email, dto.password, dto.name);
    await this.signIn(req, user);
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
    await this.signIn(req, user);
    return userView(user);
  }

  /**
   * Ends the caller's bearer token and/or session (both, when a request
   * carries both), and the sockets and SSE streams opened with them, on every
   * process. The user's other tokens and sessions stay.
   */
  @Post('logout')
  @NoWriteLimit()
  @HttpCode(204)
  async logout(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CurrentUser() me: Principal): Promise<void> {
    const ended: number[] = [];
    if (me.via === 'token' && me.tokenId) {
      await this.tokens.revoke(me);
      ended.push(credentialTag('token', me.tokenId));
    }
    if (req.session?.userId) {
      const sid = req.sessionID;
      const sessionOf = req.session.userId;
      await destroySession(req);
      await this.credentials.sessionEnded(sessionOf, sid);
      if (sessionOf === me.id) ended.push(credentialTag('session', sid));
      else await this.realtime.endSessions(sessionOf, [credentialTag('session', sid)]); // a bearer of one user with another's cookie
    }
    res.clearCookie(SESSION_COOKIE);
    await this.realtime.endSessions(me.id, ended);
  }

  /** Laravel's logoutOtherDevices, and this one too: every token and session of the user, and all their connections. */
  @Post('logout-all')
  @NoWriteLimit()
  @HttpCode(204)
  async logoutAll(@Req() req: Request, @Res({ passthrough: true }) res: Response, @CurrentUser() me: Principal): Promise<void> {
    await this.tokens.revoke(me); // in case it was issued before tokens were listed per user
    if (req.session?.userId === me.id) await destroySession(req);
    await this.credentials.revokeAll(me.id);
    res.clearCookie(SESSION_COOKIE);
    await this.realtime.endSessions(me.id, 'all');
  }

  @Get('me')
  async me(@CurrentUser() me: Principal): Promise<UserView> {
    return userView(await this.auth.me(me.id));
  }

  @Post('token')
  @HttpCode(200)
  token(@CurrentUser() me: Principal): Promise<{ token: string; expiresIn: number }> {
    return this.credentials.issueToken(me.id, me.role);
  }
}
