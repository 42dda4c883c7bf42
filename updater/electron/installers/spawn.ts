/**
 * Starting installer processes. Always an executable and an argument array, never a shell:
 * file names come from the repository and must not be able to become commands. The spawn
 * function is injected so tests can record the exact commands of installers that cannot run
 * on the test machine (pkexec, NSIS, ...).
 */
import { spawn as nodeSpawn } from 'node:child_process';
import { InstallError } from '../errors.js';

export interface SpawnOptions {
  /** Run on after this process exits (installers that replace the running app). */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
  /** An open file descriptor the child reads as its standard input (default: none). */
  stdin?: number;
}

/** The part of a ChildProcess the installers use. */
export interface SpawnedProcess {
  once(event: 'spawn', listener: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  unref(): void;
  stderr?: NodeJS.ReadableStream | null;
}

export type SpawnFunction = (command: string, args: readonly string[], options: SpawnOptions) => SpawnedProcess;

/** child_process.spawn without a shell; a detached child gets no stdio, so it outlives us cleanly. */
export const defaultSpawn: SpawnFunction = (command, args, options) =>
  nodeSpawn(command, [...args], {
    shell: false,
    detached: options.detached === true,
    stdio: options.detached ? 'ignore' : [options.stdin ?? 'ignore', 'ignore', 'pipe'],
    env: options.env,
    windowsHide: true,
  });

const STDERR_KEEP_BYTES = 4096;

/** Runs a command to completion; InstallError unless it exits with 0 (the end of stderr is kept in the message). */
export function runCommand(
  spawn: SpawnFunction,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, detached: false });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer | string) => {
      stderr = (stderr + chunk.toString()).slice(-STDERR_KEEP_BYTES);
    });
    child.once('error', (error) =>
      reject(new InstallError(`cannot run ${command}: ${error.message}`, { cause: error })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(new InstallError(`${command} ${args.join(' ')} ${how}${stderr ? `: ${stderr.trim()}` : ''}`));
    });
  });
}

/** Starts a detached process that outlives this one; resolves once it has started. */
export function startDetached(
  spawn: SpawnFunction,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, detached: true });
    child.once('error', (error) =>
      reject(new InstallError(`cannot start ${command}: ${error.message}`, { cause: error })),
    );
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
}
