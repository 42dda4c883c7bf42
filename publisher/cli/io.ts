/** What a CLI command may touch of the process: injected so commands run in tests in-process. */
export interface CliIO {
  stdout(line: string): void;
  stderr(line: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The real process. */
export function processIO(): CliIO {
  return {
    stdout: (line) => process.stdout.write(line + '\n'),
    stderr: (line) => process.stderr.write(line + '\n'),
    env: process.env,
    cwd: process.cwd(),
  };
}
