/**
 * API tokens. A token is 32 random bytes (base64url) behind an `etuf_` prefix: high entropy, so
 * a SHA-256 digest is all the database keeps (no slow password hash is needed, and a leaked
 * table reveals no usable token). Lookup is by digest; the token itself is shown once, at
 * creation, and never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Queryable } from './db.js';
import { AuthenticationError, ForbiddenError } from './errors.js';

export const TOKEN_PREFIX = 'etuf_';
const TOKEN_PATTERN = /^etuf_[A-Za-z0-9_-]{43}$/;

export type Scope = 'admin' | 'publish';

export interface TokenInfo {
  id: string;
  scope: Scope;
  repository: string | null;
  channel: string | null;
  label: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface TokenRow {
  id: string;
  digest: string;
  scope: Scope;
  repository: string | null;
  channel: string | null;
  label: string;
  expires_at: Date | string | null;
  revoked_at: Date | string | null;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

function infoOf(row: TokenRow): TokenInfo {
  return {
    id: row.id,
    scope: row.scope,
    repository: row.repository,
    channel: row.channel,
    label: row.label,
    expiresAt: iso(row.expires_at),
    revokedAt: iso(row.revoked_at),
  };
}

export interface CreateTokenInput {
  scope: Scope;
  repository?: string;
  channel?: string;
  label?: string;
  expiresAt?: Date;
  /** A token chosen by the operator (ELECTRON_TUF_ADMIN_TOKEN); default a new random one. */
  token?: string;
  id?: string;
}

export async function createToken(db: Queryable, input: CreateTokenInput): Promise<{ token: string; info: TokenInfo }> {
  const token = input.token ?? newToken();
  if (!TOKEN_PATTERN.test(token))
    throw new AuthenticationError('a token must be etuf_ followed by 43 base64url characters');
  const id = input.id ?? randomBytes(6).toString('hex');
  const [row] = await db.query<TokenRow & Record<string, unknown>>(
    `INSERT INTO tokens (id, digest, scope, repository, channel, label, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (id) DO UPDATE SET digest = EXCLUDED.digest, revoked_at = NULL RETURNING *`,
    [
      id,
      tokenDigest(token),
      input.scope,
      input.repository ?? null,
      input.channel ?? null,
      input.label ?? '',
      input.expiresAt ?? null,
    ],
  );
  return { token, info: infoOf(row) };
}

/** The token's record, if `header` holds a valid (known, unexpired, unrevoked) token. */
export async function authenticate(db: Queryable, header: string | undefined, now = new Date()): Promise<TokenInfo> {
  const digest = digestOfHeader(header);
  const [row] = await db.query<TokenRow & Record<string, unknown>>('SELECT * FROM tokens WHERE digest = $1', [digest]);
  return checkedToken(row, digest, now);
}

/**
 * `authenticate`, and whether repository `repository` exists, in one database round trip (the
 * upload and add routes need both on every request).
 */
export async function authenticateFor(
  db: Queryable,
  header: string | undefined,
  repository: string,
  now = new Date(),
): Promise<{ token: TokenInfo; repositoryExists: boolean }> {
  const digest = digestOfHeader(header);
  const [row] = await db.query<TokenRow & { repository_exists: boolean } & Record<string, unknown>>(
    'SELECT t.*, EXISTS (SELECT 1 FROM repositories WHERE name = $2) AS repository_exists FROM tokens t WHERE t.digest = $1',
    [digest, repository],
  );
  return { token: checkedToken(row, digest, now), repositoryExists: row.repository_exists };
}

function digestOfHeader(header: string | undefined): string {
  if (!header) throw new AuthenticationError('missing token: send Authorization: Bearer <token>');
  const m = /^Bearer ([^\s]{1,200})$/.exec(header);
  if (!m || !TOKEN_PATTERN.test(m[1]))
    throw new AuthenticationError('malformed Authorization header: expected Bearer etuf_...');
  return tokenDigest(m[1]);
}

function checkedToken(row: TokenRow | undefined, digest: string, now: Date): TokenInfo {
  // The lookup is by digest; compare anyway in constant time so no code path depends on a prefix match.
  if (!row || !timingSafeEqual(Buffer.from(row.digest, 'hex'), Buffer.from(digest, 'hex')))
    throw new AuthenticationError('unknown token');
  if (row.revoked_at !== null) throw new AuthenticationError('this token has been revoked');
  if (row.expires_at !== null && new Date(row.expires_at).getTime() <= now.getTime())
    throw new AuthenticationError('this token has expired');
  return infoOf(row);
}

export function requireAdmin(token: TokenInfo): void {
  if (token.scope !== 'admin') throw new ForbiddenError('this needs an admin token');
}

/** Publishing to `repository` (and, for a channel-bound token, to `channel`). */
export function requirePublish(token: TokenInfo, repository: string, channel?: string): void {
  if (token.scope === 'admin') return;
  if (token.repository !== repository)
    throw new ForbiddenError(`this token may not publish to repository ${repository}`);
  if (token.channel !== null && channel !== undefined && token.channel !== channel) {
    throw new ForbiddenError(`this token may publish to channel ${token.channel} only, not ${channel}`);
  }
}

/** A channel-bound token must name its channel: it may not act on every channel at once. */
export function requireChannelFor(token: TokenInfo, channel: string | undefined): void {
  if (token.channel !== null && channel === undefined)
    throw new ForbiddenError(`this token may act on channel ${token.channel} only: give the channel`);
}

export async function listTokens(db: Queryable): Promise<TokenInfo[]> {
  const rows = await db.query<TokenRow & Record<string, unknown>>('SELECT * FROM tokens ORDER BY created_at, id');
  return rows.map(infoOf);
}

export async function revokeToken(db: Queryable, id: string): Promise<boolean> {
  const rows = await db.query(
    'UPDATE tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
    [id],
  );
  return rows.length > 0;
}

export async function hasActiveAdmin(db: Queryable): Promise<boolean> {
  const rows = await db.query(
    `SELECT 1 FROM tokens WHERE scope = 'admin' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()) LIMIT 1`,
  );
  return rows.length > 0;
}
