/** Output for operators on stdout: lines, aligned tables, or JSON lines for scripts. */
export function print(line: string): void {
  if (process.stdout.listenerCount('error') === 0) process.stdout.on('error', endOnWriteFailure);
  process.stdout.write(`${line}\n`);
}

/**
 * Resolves once what was printed is written; a write that failed has ended the command by then
 * (endOnWriteFailure), so a command never reports success over output it lost.
 */
export const printed = (): Promise<void> => new Promise((resolve) => process.stdout.write('', () => resolve()));

/**
 * A reader that stops early (`tidings sagas list | head -1`) closes the pipe: what is left to
 * print has nobody to read it, so the command ends there, as Unix tools do, and quietly. Any
 * other failure to write (a full disk) loses output: exit 1, saying so.
 */
function endOnWriteFailure(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`tidings: cannot write the output: ${error.message}\n`);
  process.exit(1);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field)));
}

/** Rows as aligned columns, one line each: no value is `-`; a value's line breaks and tabs (an error's stack) are shown escaped, as JSON writes them. */
export function table(rows: readonly Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const cells = [columns, ...rows.map((row) => columns.map((column) => oneLine(String(row[column] ?? '-'))))];
  const widths = columns.map((_, index) => Math.max(...cells.map((line) => line[index].length)));
  for (const line of cells) print(line.map((cell, index) => cell.padEnd(widths[index])).join('  ').trimEnd());
}

// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const oneLine = (text: string): string => text.replace(/[\u0000-\u001f]/g, (control) => JSON.stringify(control).slice(1, -1));
