import { BadRequestError, DomainError } from './domain-error';

/**
 * Bounds on what a client may send, shared by HTTP bodies and socket payloads
 * (SPEC §10). The byte limits (BODY_LIMIT_BYTES, WS_MAX_BUFFER_BYTES) keep the
 * size down; these keep down what a small input can still cost afterwards:
 * class-transformer and class-validator recurse per level and visit every
 * element, so a 300 KB `[0,0,…]` or a 50,000-level nest is already too much.
 */
export const MAX_INPUT_DEPTH = 32;
/** Every array item and object property counted across the whole value; the largest list a route takes is 500 ids. */
export const MAX_INPUT_ELEMENTS = 10_000;
/** Query parameters per request; no route reads more than a handful. */
export const MAX_QUERY_PARAMS = 100;

export class PayloadTooLargeError extends DomainError {
  constructor(message: string) {
    super('payload_too_large', message);
  }
}

/**
 * Throws when `value` nests deeper than `maxDepth` or holds more than
 * `maxElements` items and properties in all. Breadth-first with an explicit
 * queue: no recursion, no spread of a caller-sized array into arguments (the
 * old check's `push(...Object.values(v))` overflowed the stack on a 130,000-item
 * array), and it stops at the first element past the limit, so the cost is
 * bounded by the limits, not by the input.
 */
export function assertInputBounds(value: unknown, what: string, maxDepth = MAX_INPUT_DEPTH, maxElements = MAX_INPUT_ELEMENTS): void {
  let level: object[] = value !== null && typeof value === 'object' ? [value] : [];
  let elements = 0;
  for (let depth = 1; level.length; depth++) {
    if (depth > maxDepth) throw new BadRequestError(`${what} is nested deeper than ${maxDepth} levels`);
    const next: object[] = [];
    for (const container of level) {
      // for…in would walk the prototype chain; keys of a plain parsed value are its own ones.
      const children: unknown[] = Array.isArray(container) ? container : Object.values(container);
      elements += children.length;
      if (elements > maxElements) throw new PayloadTooLargeError(`${what} has more than ${maxElements} elements`);
      for (const child of children) if (child !== null && typeof child === 'object') next.push(child);
    }
    level = next;
  }
}

/** The same walk as a test, for a field with tighter bounds of its own (the AI context). */
export function isWithinInputBounds(value: unknown, maxDepth: number, maxElements = MAX_INPUT_ELEMENTS): boolean {
  try {
    assertInputBounds(value, 'value', maxDepth, maxElements);
    return true;
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
}

/**
 * Counts the parameters of a raw query string without parsing it. Express's
 * parser keeps the first 1,000 and drops the rest without a word; a request
 * with more is refused instead, before anything reads it.
 */
export function assertQueryBounds(url: string, maxParams = MAX_QUERY_PARAMS): void {
  const start = url.indexOf('?');
  if (start < 0) return;
  let params = 1;
  for (let i = url.indexOf('&', start); i >= 0; i = url.indexOf('&', i + 1)) {
    if (++params > maxParams) throw new BadRequestError(`Query string has more than ${maxParams} parameters`);
  }
}
