import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { CsvError, parse, type Options } from 'csv-parse';
import { ImportFileTooLarge, InvalidImportFile } from '../errors';
import { IMPORT_HEADER } from '../imports';

/** A data row as the file holds it: its line (the header is line 1) and its fields, unchecked. */
export type FileRow = Readonly<{ line: number; fields: readonly string[] }>;

export type ImportFileLimits = Readonly<{
  /** Bytes the file may hold (TIDINGS_IMPORT_MAX_BYTES). */
  maxBytes: number;
  /** Rows per batch handed on: what is held in memory at once. */
  batchRows: number;
}>;

/** A record longer than this is not a product row: the file is refused rather than buffered. */
const MAX_RECORD_BYTES = 64 * 1024;
/**
 * Nor is one with more fields than this (a product row has 4): within 64 KiB a line of commas
 * holds 65,000 of them, and a batch of such rows took the process's whole heap.
 */
const MAX_RECORD_FIELDS = 100;

const CSV_OPTIONS: Options = {
  info: true,
  bom: true,
  relax_column_count: true,
  skip_empty_lines: true,
  // Either line ending, even mixed: a file edited on two systems is still one file.
  record_delimiter: ['\r\n', '\n'],
  max_record_size: MAX_RECORD_BYTES,
};

/**
 * The data rows of an uploaded CSV file, read as it streams in, in batches: the header must be
 * exactly `sku,name,priceCents,quantity`. A file that is not CSV text (bytes that are not UTF-8, a
 * quoting error, a NUL byte, a record over 64 KiB or over 100 fields), has another header or grows past `maxBytes` throws
 * InvalidImportFile or ImportFileTooLarge — possibly after some batches were handed on, which
 * the caller therefore keeps uncommitted until the end. Rows with the wrong number of fields
 * are handed on as they are: they are the row's error, not the file's.
 */
export async function* importFileRows(body: Readable, { maxBytes, batchRows }: ImportFileLimits): AsyncGenerator<FileRow[]> {
  const parser = parse(CSV_OPTIONS);
  const limited = body.pipe(byteLimit(maxBytes));
  const text = limited.pipe(utf8Only());
  for (const stage of [body, limited, text]) stage.on('error', (error) => parser.destroy(error));
  text.pipe(parser);
  let batch: FileRow[] = [];
  let header = true;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = startLine(record, info.lines);
      if (record.length > MAX_RECORD_FIELDS) throw new InvalidImportFile(`line ${line} has ${record.length} fields: the file is not a product import (at most ${MAX_RECORD_FIELDS} fields a line)`);
      if (record.some((field) => field.includes('\u0000'))) throw new InvalidImportFile(`line ${line} holds a NUL byte: the file is not CSV text`);
      if (header) {
        requireHeader(record);
        header = false;
        continue;
      }
      batch.push({ line, fields: record });
      if (batch.length >= batchRows) {
        yield batch;
        batch = [];
      }
    }
  } catch (error) {
    throw fileError(error);
  } finally {
    body.unpipe(limited);
    limited.destroy();
    text.destroy();
    parser.destroy();
  }
  if (header) throw new InvalidImportFile(`the file is empty; its first line must be ${IMPORT_HEADER.join(',')}`);
  if (batch.length) yield batch;
}

function requireHeader(record: readonly string[]): void {
  if (record.length === IMPORT_HEADER.length && record.every((field, index) => field.trim() === IMPORT_HEADER[index])) return;
  const shown = record.join(',').slice(0, 200);
  throw new InvalidImportFile(`the first line must be ${IMPORT_HEADER.join(',')}, not "${shown}"`);
}

/** csv-parse counts the line a record ends on; a quoted field may hold line breaks. */
const startLine = (record: readonly string[], endLine: number): number =>
  endLine - record.reduce((breaks, field) => breaks + (field.match(/\n/g)?.length ?? 0), 0);

const fileError = (error: unknown): unknown => {
  if (error instanceof CsvError) return new InvalidImportFile(`the file is not valid CSV: ${error.message}`);
  return error;
};

/** Passes bytes on until `maxBytes` have gone by, then fails with ImportFileTooLarge. */
function byteLimit(maxBytes: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      seen += chunk.length;
      done(seen > maxBytes ? new ImportFileTooLarge(maxBytes) : null, chunk);
    },
  });
}

/**
 * Passes bytes on while they are UTF-8, then fails with InvalidImportFile: read leniently, bytes of
 * another encoding would be stored as U+FFFD in the products' names for good.
 */
function utf8Only(): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  const checked = (decode: () => void): Error | null => {
    try {
      decode();
      return null;
    } catch {
      return new InvalidImportFile(`the file is not UTF-8 text (bytes from about ${offset} on are not): save it as UTF-8`);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      const error = checked(() => decoder.decode(chunk, { stream: true }));
      offset += chunk.length;
      done(error, chunk);
    },
    flush(done: TransformCallback) {
      done(checked(() => decoder.decode()));
    },
  });
}
