/**
 * Minimal, strict PEM (RFC 7468) for the two labels TUF keys use: `PUBLIC KEY`
 * (SubjectPublicKeyInfo, the keyval of ecdsa and rsa keys) and `PRIVATE KEY` (PKCS#8).
 * OpenSSL's own PEM reader skips any text before the first block and accepts other labels
 * (a certificate, a private key) where a public key was meant; metadata is hostile, so a
 * keyval must be exactly one block with the expected label.
 */

export type PemLabel = 'PUBLIC KEY' | 'PRIVATE KEY';

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/** The DER bytes inside a single PEM block labelled `label`, or undefined for anything else. */
export function pemToDer(text: string, label: PemLabel): Buffer | undefined {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const trimmed = text.trim();
  if (!trimmed.startsWith(begin) || !trimmed.endsWith(end)) return undefined;
  const body = trimmed.slice(begin.length, trimmed.length - end.length).replace(/[ \t\r\n]/g, '');
  // Buffer.from(.., 'base64') silently skips junk; validate first so nothing is smuggled inside.
  if (body.length === 0 || body.length % 4 !== 0 || !BASE64_BODY.test(body)) return undefined;
  return Buffer.from(body, 'base64');
}

/** PEM text as OpenSSL and python's `cryptography` write it: 64-column lines, final newline. */
export function derToPem(der: Uint8Array, label: PemLabel): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return [`-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n');
}
