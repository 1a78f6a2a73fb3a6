import { UsageError } from './command-errors';

/** Commands print results on stdout; what they throw is printed and mapped to an exit code in one place (command-errors.ts). */

export function parseCount(flag: string, value: string, min = 0): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`${flag} must be a whole number >= ${min} (got "${value}")`);
  return Number(value);
}

/** Seconds, decimals allowed (Laravel's --sleep=0.5). */
export function parseSeconds(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d{1,7}(\.\d{1,3})?$/.test(value) || n < min || n > max) throw new UsageError(`${flag} must be seconds between ${min} and ${max} (got "${value.slice(0, 40)}")`);
  return n;
}

/** A plain table: column widths from the content. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}
