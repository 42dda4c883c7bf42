/**
 * CPU time of processes, from /proc (Linux): what a bench run cost each process, whatever the
 * load of the machine did to its wall time.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** utime + stime of a process (all its threads, not its children), in ms. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, in parentheses): state is field 3,
  // utime field 14, stime field 15 (proc(5)).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** This process's own CPU time (user + system), in ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU-ms of each named process: `name -> pid` in, `name -> ms` out. */
export async function cpuOf(pids: Map<string, number>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, pid] of pids) out[name] = await processCpuMs(pid);
  return out;
}

/** after - before, per name. */
export function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of Object.keys(after)) out[name] = after[name] - (before[name] ?? 0);
  return out;
}

export const sum = (ms: Record<string, number>): number => Object.values(ms).reduce((s, v) => s + v, 0);
