/**
 * What every `electron-tuf repo` command shares: its shape (usage, options, run), the common
 * options, and the argument helpers that turn parseArgs values into checked library input
 * (a bad value is a ValueError naming the option).
 */
import { resolve } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { ValueError } from '../../updater/core/errors.js';
import type { CliIO } from './io.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Command {
  usage: string;
  options: Options;
  run(positionals: string[], values: Values, io: CliIO): Promise<unknown>;
}

export const COMMON: Options = {
  verbose: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const KEYS: Options = { keys: { type: 'string' } };

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: Values, name: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw new ValueError(`--${name} is required`);
  return v;
}

export function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? (v as string[]) : [];
}

export function integer(values: Values, name: string): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new ValueError(`--${name} must be a whole number, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function days(value: string, what: string): number {
  if (!/^\d+(\.\d+)?$/.test(value))
    throw new ValueError(`${what} must be a number of days, got ${JSON.stringify(value)}`);
  // Metadata that expires as it is signed would be refused by every client at once.
  if (Number(value) <= 0)
    throw new ValueError(
      `${what} must be more than 0 days: metadata that expires when it is signed is refused by every client`,
    );
  return Number(value);
}

export function positional(positionals: string[], index: number, what: string): string {
  const v = positionals[index];
  if (v === undefined) throw new ValueError(`missing ${what}`);
  return v;
}

export function path(io: CliIO, p: string): string;
export function path(io: CliIO, p: string | undefined): string | undefined;
export function path(io: CliIO, p: string | undefined): string | undefined {
  return p === undefined ? undefined : resolve(io.cwd, p);
}

export function keyOptions(values: Values, io: CliIO): { keys?: string; env: NodeJS.ProcessEnv } {
  return { keys: path(io, str(values, 'keys')), env: io.env };
}

export function maxArgs(positionals: string[], n: number): void {
  if (positionals.length > n) throw new ValueError(`unexpected argument ${JSON.stringify(positionals[n])}`);
}
