/**
 * Ctrl-C (or SIGTERM, SIGHUP) in the middle of the demo: stop at once and leave nothing
 * behind. The handler is synchronous from start to exit, so the demo's own work cannot go on
 * meanwhile (start a build step, write a file); the processes it started (tsc, 7-Zip, the
 * relaunched app) are killed first, since a SIGTERM sent to the demo alone does not reach
 * them, and an orphaned compiler would write into the deleted folder.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface Interruptible {
  /** Deletes the demo's files, synchronously. */
  removeNow(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** 128 + SIGINT, as shells report an interrupted command. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Installs the handlers; returns a function that removes them. */
export function exitCleanlyOnSignals(workspace: Interruptible, announce: (signal: NodeJS.Signals) => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    announce(signal);
    killDescendants(process.pid);
    try {
      workspace.removeNow();
    } finally {
      process.exit(INTERRUPTED_EXIT_CODE);
    }
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
}

/**
 * SIGKILLs every process below `pid`, from /proc on Linux. The tree is frozen first (SIGSTOP,
 * pass after pass until a pass finds no new process): a build tool that forks between our
 * look at /proc and its own death would otherwise leave an orphan writing into the folder
 * being deleted. A stopped process cannot fork, so the last pass sees the whole tree.
 */
export function killDescendants(pid: number): number[] {
  const stopped = new Set<number>();
  for (let pass = 0; pass < 20; pass++) {
    const fresh = descendantsOf(pid).filter((p) => !stopped.has(p));
    if (fresh.length === 0) break;
    for (const p of fresh) {
      signal(p, 'SIGSTOP');
      stopped.add(p);
    }
  }
  for (const p of stopped) signal(p, 'SIGKILL');
  return [...stopped];
}

function descendantsOf(pid: number): number[] {
  const children = childrenByParent();
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** ppid -> pids, read from /proc/<pid>/stat ("pid (comm) state ppid ..."); empty without /proc. */
function childrenByParent(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return map;
  }
  for (const name of entries) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // comm may hold spaces and parentheses: the fields after it start at the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    map.set(ppid, [...(map.get(ppid) ?? []), Number(name)]);
  }
  return map;
}
