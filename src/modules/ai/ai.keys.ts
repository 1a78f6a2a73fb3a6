import type { AiContext } from './providers/ai-provider';
import { createHash } from 'node:crypto';

/** Trim, collapse runs of whitespace, lowercase: "  What  is\nX? " and "what is x?" share a cache entry. */
export function normaliseQuery(query: string): string {
  return query.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * JSON with object keys sorted at every depth, so `{a:1,b:2}` and `{b:2,a:1}`
 * hash alike. Arrays keep their order (order is meaning there); `undefined`
 * members are dropped as JSON.stringify drops them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The cache (and coalescing) key: sha256 of the normalised query and the
 * canonical context. No context ≡ `{}`. A `scope` (AI_CACHE_SCOPE=user: the
 * user's id) gives each scope entries of its own.
 */
export function cacheKey(query: string, context?: AiContext, scope?: string): string {
  const hash = createHash('sha256')
    .update(normaliseQuery(query))
    .update('\u0000')
    .update(canonicalJson(context ?? {}));
  if (scope !== undefined) hash.update('\u0000scope:').update(scope);
  return hash.digest('hex');
}
