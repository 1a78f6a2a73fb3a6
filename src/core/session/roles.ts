/** The roles a principal can have: core/session owns them (guards, tokens), the users feature stores them. */
export type UserRole = 'user' | 'admin';
