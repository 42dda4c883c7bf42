/**
 * docs/deploy: the compose file and the systemd units cannot run here (no Docker, no systemd
 * services on these machines), so this checks what can be checked: the YAML parses, every
 * service the deployment needs is there, and every server command line parses with the CLI's
 * own options, and every ELECTRON_TUF_* variable is one the server reads.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SERVER_OPTIONS } from '../src/cli.js';

const DEPLOY = join(import.meta.dirname, '..', '..', 'docs', 'deploy');
const SRC = join(import.meta.dirname, '..', 'src');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
}

async function serverSources(): Promise<string> {
  const texts: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) texts.push(await readFile(join(dir, e.name), 'utf8'));
    }
  };
  await walk(SRC);
  return texts.join('\n');
}

/** A server command line (`electron-tuf-server <command> --flag value ...`) parses with the CLI's options. */
function expectServerCommand(argv: string[], expected: string): void {
  expect(argv[0]).toBe('electron-tuf-server');
  expect(argv[1]).toBe(expected);
  const { values, positionals } = parseArgs({ args: argv.slice(2), options: SERVER_OPTIONS, strict: true });
  expect(positionals).toEqual([]);
  expect(values.data).toBe('/srv/tuf');
  for (const port of [values.port, values['metrics-port']]) if (port !== undefined) expect(port).toMatch(/^\d+$/);
}

describe('deployment files', () => {
  it('compose.yaml parses, has every part, and uses only flags and variables the server knows', async () => {
    const compose = parse(await readFile(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, ComposeService>;
    };
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(['api', 'minio', 'postgres', 'redis', 'scheduler', 'worker']);
    for (const s of Object.values(services)) expect(s.image).toMatch(/\S/);
    const sources = await serverSources();
    for (const name of ['api', 'worker', 'scheduler']) {
      const service = services[name];
      expectServerCommand(service.command!, name);
      const variables = Object.keys(service.environment ?? {});
      expect(variables).toEqual(expect.arrayContaining(['ELECTRON_TUF_DATABASE_URL', 'ELECTRON_TUF_REDIS_URL']));
      for (const v of variables.filter((v) => v.startsWith('ELECTRON_TUF_'))) expect(sources).toContain(v);
    }
    // Health on every server process; metrics off the API's public port.
    for (const name of ['api', 'worker', 'scheduler']) expect(services[name].command).toContain('--metrics-port');
  });

  it('the systemd units start the server with flags it knows and stop it with SIGTERM', async () => {
    const sources = await serverSources();
    const units = (await readdir(DEPLOY)).filter((f) => /^electron-tuf-.*\.service$/.test(f));
    expect(units.sort()).toEqual([
      'electron-tuf-api.service',
      'electron-tuf-scheduler.service',
      'electron-tuf-worker@.service',
    ]);
    for (const unit of units) {
      const text = await readFile(join(DEPLOY, unit), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(text)![1].split(/\s+/);
      // systemd expands %i (the instance) before exec; any digit stands for it here.
      const argv = exec.map((a) => a.replace('%i', '1'));
      argv[0] = argv[0].replace(/^\/usr\/bin\//, '');
      expectServerCommand(argv, /electron-tuf-(\w+)@?\.service/.exec(unit)![1]);
      expect(text).toMatch(/^KillSignal=SIGTERM$/m);
      expect(text).toMatch(/^EnvironmentFile=\/etc\/electron-tuf\/env$/m);
    }
    const env = await readFile(join(DEPLOY, 'electron-tuf.env'), 'utf8');
    for (const m of env.matchAll(/^#?\s*(ELECTRON_TUF_\w+)=/gm)) expect(sources).toContain(m[1]);
  });
});
