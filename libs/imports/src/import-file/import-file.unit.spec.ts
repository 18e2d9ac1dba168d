import { Readable } from 'node:stream';
import { ImportFileTooLarge, InvalidImportFile } from '../errors';
import { importFileRows, type FileRow } from './import-file';

const read = async (text: string | Buffer, { maxBytes = 1_000_000, batchRows = 2 } = {}): Promise<FileRow[][]> => {
  const batches: FileRow[][] = [];
  // Split in small pieces, as a socket delivers them.
  const bytes = Buffer.from(text);
  const pieces = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, index) => bytes.subarray(index * 7, index * 7 + 7));
  for await (const batch of importFileRows(Readable.from(pieces), { maxBytes, batchRows })) batches.push(batch);
  return batches;
};

describe('reading an import file', () => {
  it('hands on the data rows in batches, each with the line it starts on', async () => {
    const batches = await read('sku,name,priceCents,quantity\r\nmug,"Blue\nmug",1299,5\n\nplate,Plate,899,2\ncup,Cup,1,1,extra\n');
    expect(batches).toEqual([
      [
        { line: 2, fields: ['mug', 'Blue\nmug', '1299', '5'] },
        { line: 5, fields: ['plate', 'Plate', '899', '2'] },
      ],
      [{ line: 6, fields: ['cup', 'Cup', '1', '1', 'extra'] }],
    ]);
  });

  it('accepts a byte order mark and a file with only its header', async () => {
    expect(await read('\uFEFFsku,name,priceCents,quantity\n')).toEqual([]);
  });

  it('refuses another header, an empty file and a file that is not CSV text', async () => {
    await expect(read('sku,name,price,quantity\nmug,Mug,1,1\n')).rejects.toThrow(/first line must be sku,name,priceCents,quantity, not "sku,name,price,quantity"/);
    await expect(read('')).rejects.toThrow(InvalidImportFile);
    await expect(read('sku,name,priceCents,quantity\nmug,"Mug,1,1\n')).rejects.toThrow(/not valid CSV/);
    await expect(read(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]))).rejects.toThrow(InvalidImportFile);
    await expect(read('sku,name,priceCents,quantity\nmug,Mu\u0000g,1,1\n')).rejects.toThrow(/line 2 holds a NUL byte/);
    // A line of commas: each field costs memory whatever it holds.
    await expect(read(`sku,name,priceCents,quantity\nmug,Mug,1,1\n${','.repeat(100)}\n`)).rejects.toThrow(/line 3 has 101 fields: the file is not a product import/);
    expect(await read(`sku,name,priceCents,quantity\n${','.repeat(99)}\n`)).toEqual([[{ line: 2, fields: Array(100).fill('') }]]);
  });

  it('refuses a file that is not UTF-8, wherever its bytes stop being so, and reads one that is, characters split across pieces', async () => {
    const latin1 = Buffer.concat([Buffer.from('sku,name,priceCents,quantity\nmug,Caf'), Buffer.from([0xe9]), Buffer.from(',100,1\n')]);
    await expect(read(latin1)).rejects.toThrow(/the file is not UTF-8 text .*: save it as UTF-8/);
    await expect(read(Buffer.concat([Buffer.from('sku,name,priceCents,quantity\nmug,A'), Buffer.from([0xff, 0xfe]), Buffer.from('B,100,1\n')]))).rejects.toThrow(InvalidImportFile);
    // A character cut off at the end of the file.
    await expect(read(Buffer.concat([Buffer.from('sku,name,priceCents,quantity\nmug,Mug,100,1\n'), Buffer.from([0xe2, 0x82])]))).rejects.toThrow(/not UTF-8/);
    // Pieces of 7 bytes cut "Café ☕ 𝄞" inside its characters.
    expect(await read('sku,name,priceCents,quantity\nmug,Café ☕ 𝄞,100,1\n')).toEqual([[{ line: 2, fields: ['mug', 'Café ☕ 𝄞', '100', '1'] }]]);
  });

  it('refuses a file past its size limit', async () => {
    const rows = Array.from({ length: 100 }, (_, index) => `sku-${index},Mug,100,1`).join('\n');
    await expect(read(`sku,name,priceCents,quantity\n${rows}\n`, { maxBytes: 1_000 })).rejects.toThrow(ImportFileTooLarge);
  });
});
