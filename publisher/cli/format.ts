/** Human-readable pieces of CLI output. */

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB'];

export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** "in 6 d 23 h", "in 42 min", "expired 3 h ago". */
export function formatRemaining(ms: number): string {
  const abs = Math.abs(ms);
  const days = Math.floor(abs / 86_400_000);
  const hours = Math.floor((abs % 86_400_000) / 3_600_000);
  const minutes = Math.floor((abs % 3_600_000) / 60_000);
  const text = days > 0 ? `${days} d ${hours} h` : hours > 0 ? `${hours} h ${minutes} min` : `${minutes} min`;
  return ms < 0 ? `EXPIRED ${text} ago` : `in ${text}`;
}

export function short(keyid: string): string {
  return keyid.slice(0, 8);
}

/** Left-aligned columns. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) => '  ' + row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join('  '),
  );
}

/** What a publish wrote, in one line. */
export function publishLines(report: {
  files: Array<{ name: string; bytes: number }>;
  metadataBytes: number;
}): string[] {
  return [
    `Wrote ${report.files.length} metadata file(s), ${formatBytes(report.metadataBytes)}: ${report.files.map((f) => f.name).join(', ')}`,
  ];
}
