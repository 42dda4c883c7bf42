/** Checks of the server CLI's numeric flags: a usage error (ValueError) names the flag. */
import { ValueError } from 'electron-tuf/core';

export function portOf(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n > 65535) throw new ValueError(`--${name} must be a port number, got ${v}`);
  return n;
}

export function wholeNumber(v: string | undefined, name: string, fallback: number, min: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!/^\d{1,9}$/.test(v) || n < min) throw new ValueError(`--${name} must be a whole number >= ${min}, got ${v}`);
  return n;
}
