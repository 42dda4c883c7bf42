/**
 * Measurement helpers: child processes with a time bound, medians, units.
 *
 * A child script prints one JSON object as its last stdout line; that is its result. Each
 * child is a fresh `node` process, so its `process.resourceUsage().maxRSS` is the peak of that
 * one case alone, and a case that runs away is killed at its bound without harming the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHILDREN_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'children');
export const MIB = 1024 * 1024;

export type ChildOutcome<T> = { finished: true; result: T; wallMs: number } | { finished: false; wallMs: number };

export interface ChildOptions {
  /** Kill the child (SIGKILL) after this long and report it as not finished. */
  timeoutMs: number;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  cwd?: string;
  /** False for a child that prints no JSON line (e.g. our CLI): success is exit 0, result undefined. */
  json?: boolean;
}

const live = new Set<ChildProcess>();

/**
 * Runs `node [nodeArgs] <script> <args...>` and resolves with the JSON of its last stdout line
 * and the wall time from spawn to exit. Rejects when the child fails (with its stderr).
 */
export function runChild<T>(script: string, args: string[], options: ChildOptions): Promise<ChildOutcome<T>> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: options.cwd,
  });
  live.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  return new Promise((resolvePromise, reject) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      live.delete(child);
      if (timedOut) return resolvePromise({ finished: false, wallMs });
      if (code !== 0) {
        return reject(new Error(`${script} ${args.join(' ')} exited with ${code ?? signal}\n${stderr}`));
      }
      if (options.json === false) return resolvePromise({ finished: true, result: undefined as T, wallMs });
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolvePromise({ finished: true, result: JSON.parse(last) as T, wallMs });
      } catch {
        reject(new Error(`${script}: last stdout line is not JSON: ${last.slice(0, 200)}\n${stderr}`));
      }
    });
  });
}

/** Kills every child still running (at the end of a run, or after a failure). */
export function killChildren(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `maxRSS` from process.resourceUsage() is in KiB. */
export function kibToMib(kib: number): number {
  return kib / 1024;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
