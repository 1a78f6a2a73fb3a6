import type { Request } from 'express';
import { createHmac } from 'node:crypto';
import type { StickyWindow } from '../database/sticky-window';
import { Authenticator } from './authenticator';
import { ownNextSession, SESSION_COOKIE, sessionIdFor, sessionOwnerHint } from './session-cookie';
import type { Tokens } from './tokens';

/** cookie-signature's sign(), which express-session uses for its cookie. */
const sign = (value: string, secret: string) => `${value}.${createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')}`;

/** The Cookie header a browser sends back for a session id, as express-session sets it (signed, `s:` prefix, URL-encoded). */
const cookieFor = (sid: string, others = '') => `${others}${SESSION_COOKIE}=${encodeURIComponent(`s:${sign(sid, 'secret')}`)}`;

describe('session ids that name their user', () => {
  it('prefixes a session started for a user with its id, and leaves others random', () => {
    const req = {} as Request;
    const anonymous = sessionIdFor(req);
    expect(anonymous).toMatch(/^[\w-]{32}$/);
    ownNextSession(req, 42);
    const owned = sessionIdFor(req);
    expect(owned).toMatch(/^42\.[\w-]{32}$/);
    expect(sessionIdFor(req)).not.toBe(owned);
  });

  it('reads the owner back from the Cookie header only', () => {
    const req = {} as Request;
    ownNextSession(req, 7);
    expect(sessionOwnerHint(cookieFor(sessionIdFor(req)))).toBe('7');
    expect(sessionOwnerHint(cookieFor(sessionIdFor(req), 'theme=dark; other.sid=s%3A9.x; '))).toBe('7');
    expect(sessionOwnerHint(cookieFor(sessionIdFor({} as Request)))).toBeNull(); // an id from before, no owner
    expect(sessionOwnerHint('xswitchboard.sid=s%3A5.abc.sig')).toBeNull(); // another cookie's name ending the same
    expect(sessionOwnerHint(undefined)).toBeNull();
    expect(sessionOwnerHint('switchboard.sid=%%%')).toBeNull();
  });
});

describe('Authenticator with a session cookie', () => {
  function setup(windows: Record<string, boolean>) {
    const asked: string[] = [];
    const sticky = {
      isWithin: (userId: string) => {
        asked.push(userId);
        return Promise.resolve(windows[userId] ?? false);
      },
    } as unknown as StickyWindow;
    return { asked, auth: new Authenticator({} as Tokens, sticky) };
  }
  const request = (cookie: string, session?: { userId: number; role: 'user' }) => ({ headers: { cookie }, session }) as unknown as Request;

  it("reads the user's window once, before the session is loaded, when the id names the session's user", async () => {
    const { asked, auth } = setup({ '7': true });
    const owner = {} as Request;
    ownNextSession(owner, 7);
    const req = request(cookieFor(sessionIdFor(owner)));
    auth.prefetch(req);
    expect(asked).toEqual(['7']);
    req.session = { userId: 7, role: 'user' } as Request['session']; // what express-session loads afterwards
    await expect(auth.identify(req)).resolves.toEqual({ principal: { id: 7, role: 'user', via: 'session' }, withinWindow: true });
    expect(asked).toEqual(['7']);
  });

  it("ignores a hint naming another user and reads the session user's own window", async () => {
    const { asked, auth } = setup({ '7': true, '8': false });
    const other = {} as Request;
    ownNextSession(other, 7);
    const req = request(cookieFor(sessionIdFor(other)));
    auth.prefetch(req);
    req.session = { userId: 8, role: 'user' } as Request['session'];
    await expect(auth.identify(req)).resolves.toMatchObject({ principal: { id: 8 }, withinWindow: false });
    expect(asked).toEqual(['7', '8']);
  });

  it('does not guess for a bearer request or an id without an owner', () => {
    const { asked, auth } = setup({});
    const owner = {} as Request;
    ownNextSession(owner, 3);
    auth.prefetch({ headers: { cookie: cookieFor(sessionIdFor(owner)), authorization: 'Bearer x' } } as unknown as Request);
    auth.prefetch(request(cookieFor(sessionIdFor({} as Request))));
    expect(asked).toEqual([]);
  });
});
