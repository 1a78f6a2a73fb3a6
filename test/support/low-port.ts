import { createServer } from 'node:net';

/**
 * A free loopback port below 32768 (the kernel hands out ephemeral ports from 32768 up, and
 * listeners on this machine stay below that range).
 */
export async function freeLowPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const ok = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port below 32768');
}
