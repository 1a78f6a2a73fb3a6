import { COMMON_PASSWORDS } from './common-passwords';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 200;

/**
 * Why `password` may not be used by the owner of `email`, or null when it
 * may (NIST SP 800-63B: a minimum length, no known-breached or
 * context-specific values; no composition rules). One rule for register and
 * user:create.
 */
export function passwordProblem(password: string, email: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  const p = password.trim().toLowerCase();
  const e = email.trim().toLowerCase();
  if (p === e || p === e.split('@')[0]) return 'password must not be the email address';
  if (COMMON_PASSWORDS.has(p) || /^(.)\1*$/.test(p)) return 'password is one of the most common passwords; choose another';
  return null;
}
