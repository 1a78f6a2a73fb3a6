import { createInterface } from 'node:readline';

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * Reads a password without echoing it: on a terminal in raw mode, shown as
 * nothing at all; from a pipe (scripts, tests), the first line. Rejects when
 * input ends first or on Ctrl-C.
 */
export function readPassword(question: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (!input.isTTY) {
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input, terminal: false });
      let answered = false;
      lines.once('line', (line) => {
        answered = true;
        lines.close();
        resolve(line);
      });
      lines.once('close', () => answered || reject(new Error('no password on standard input')));
    });
  }
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (err?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ENTER.has(ch)) return done();
        if (ch === CTRL_C || ch === CTRL_D) return done(new Error('cancelled'));
        if (BACKSPACE.has(ch)) typed = typed.slice(0, -1);
        else typed += ch;
      }
    };
    // Echo off before the prompt shows: whoever answers it (a person, a script on a pty) cannot
    // type into a terminal that still echoes.
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
    output.write(question);
  });
}
