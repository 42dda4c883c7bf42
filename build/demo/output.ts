/**
 * The demo's terminal output: numbered steps, ✓ / ✗ lines with timings, quoted release
 * notes and a text progress bar (redrawn in place on a terminal, printed once otherwise, so a
 * log file or a test sees one line). Colour only on a terminal, and never with NO_COLOR.
 */
const BAR_WIDTH = 30;

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class DemoOutput {
  private stepNumber = 0;
  private readonly color: boolean;
  private progressShown?: string;
  private progressPrinted = false;
  private muted = false;

  constructor(private readonly stream: OutputStream = process.stdout) {
    this.color = stream.isTTY === true && !process.env.NO_COLOR;
  }

  line(text = ''): void {
    if (!this.muted) this.stream.write(`${text}\n`);
  }

  /** Prints `text`, then nothing more (an interrupted run: what is still in flight is noise). */
  last(text: string): void {
    this.line(text);
    this.muted = true;
  }

  title(text: string): void {
    this.line(this.paint(text, 1));
  }

  step(text: string): void {
    this.stepNumber++;
    this.line();
    this.line(this.paint(`${this.stepNumber}. ${text}`, 1));
  }

  ok(text: string, ms?: number): void {
    this.line(`   ${this.paint('✓', 32)} ${text}${timing(ms)}`);
  }

  fail(text: string, ms?: number): void {
    this.line(`   ${this.paint('✗', 31)} ${text}${timing(ms)}`);
  }

  /** The demo's outcome, unindented. */
  result(ok: boolean, text: string): void {
    this.line(`${ok ? this.paint('✓', 32) : this.paint('✗', 31)} ${text}`);
  }

  /** Something happening, neither good nor bad. */
  note(text: string): void {
    this.line(`   · ${text}`);
  }

  /** Text from elsewhere (release notes, an error message), marked off as quoted. */
  quote(text: string): void {
    for (const line of text.trimEnd().split('\n')) this.line(`     ${this.paint('│', 2)} ${line}`);
  }

  progress(percent: number, transferred: number, total: number): void {
    const clamped = Math.max(0, Math.min(100, percent));
    const filled = Math.round((clamped / 100) * BAR_WIDTH);
    const bar = `   [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(clamped)).padStart(3)}%  ${formatBytes(transferred)} of ${formatBytes(total)}`;
    this.progressShown = bar;
    if (this.stream.isTTY && !this.muted) {
      this.stream.write(`\r${bar}`);
      this.progressPrinted = true;
    }
  }

  /** Ends the bar's line (terminal), or prints its last state once (anything else). */
  endProgress(): void {
    if (this.progressShown === undefined) return;
    if (this.progressPrinted) this.line('');
    else this.line(this.progressShown);
    this.progressShown = undefined;
    this.progressPrinted = false;
  }

  private paint(text: string, code: number): string {
    return this.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }
}

function timing(ms: number | undefined): string {
  return ms === undefined ? '' : `  (${formatDuration(ms)})`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Decimal units, as the window page shows them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A hex digest shortened for people: first and last 8 characters. */
export function shortHash(hex: string | undefined): string {
  if (!hex) return '?';
  return hex.length > 20 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}
