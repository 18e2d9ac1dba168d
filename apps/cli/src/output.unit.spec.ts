import { table } from './output';

describe('table', () => {
  it('aligns columns, keeping each row on one line: breaks and tabs in a value are shown escaped, no value as -', () => {
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => written.push(String(chunk)) > 0);
    try {
      table([
        { id: 1, error: 'relation "x" does not exist\n    at Parser.parse\tline 2' },
        { id: 22, error: 'bell\u0007' },
        { id: 333, error: null },
      ]);
    } finally {
      write.mockRestore();
    }
    expect(written.join('')).toBe(
      ['id   error', '1    relation "x" does not exist\\n    at Parser.parse\\tline 2', '22   bell\\u0007', '333  -', ''].join('\n'),
    );
  });
});
