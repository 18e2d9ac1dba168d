/** Output for operators on stdout: lines, aligned tables, or JSON lines for scripts. */
export function print(line: string): void {
  if (process.stdout.listenerCount('error') === 0) process.stdout.on('error', endWhenNobodyReads);
  process.stdout.write(`${line}\n`);
}

/**
 * A reader that stops early (`tidings sagas list | head -1`) closes the pipe: what is left to
 * print has nobody to read it, so the command ends there, as Unix tools do, and quietly.
 */
function endWhenNobodyReads(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, (_key, field: unknown) => (typeof field === 'bigint' ? field.toString() : field)));
}

export function table(rows: readonly Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]);
  const cells = [columns, ...rows.map((row) => columns.map((column) => String(row[column])))];
  const widths = columns.map((_, index) => Math.max(...cells.map((line) => line[index].length)));
  for (const line of cells) print(line.map((cell, index) => cell.padEnd(widths[index])).join('  ').trimEnd());
}
