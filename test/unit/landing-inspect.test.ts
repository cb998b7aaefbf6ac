/**
 * inspectFile reads a landing file once: content hash, line count, NUL bytes and UTF-8 validity. The
 * UTF-8 check runs chunk by chunk (4 MiB reads), so sequences split between two reads are covered here.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  MAX_LINE_SHIFTS,
  firstUndefinedLatin1Byte,
  inspectFile,
  inspectFiles,
  notCsvSignature,
} from '../../src/runner/landing.ts';

const CHUNK = 1 << 22;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carelake-inspect-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let n = 0;
function write(content: Buffer): string {
  const file = path.join(dir, `f${(n += 1)}.csv`);
  fs.writeFileSync(file, content);
  return file;
}

/** `a,b` header, then lines of ASCII padding so that `tail` starts `offset` bytes before a chunk end. */
function straddling(tail: Buffer, offset: number): Buffer {
  const head = Buffer.from('a,b\n');
  const line = Buffer.from('x,y\n');
  const fill = CHUNK - offset - head.length;
  const lines = Buffer.alloc(fill, 0);
  for (let i = 0; i + line.length <= fill; i += line.length) line.copy(lines, i);
  // the remainder (fewer than 4 bytes) stays ASCII too
  lines.fill('z', fill - (fill % line.length));
  return Buffer.concat([head, lines, tail, Buffer.from('\n1,2\n')]);
}

describe('inspectFile', () => {
  test('hash, data lines, header and encoding of a small file (CRLF, BOM)', async () => {
    const content = Buffer.from('\uFEFFid,name\r\n1,Zoë\r\n\r\n2,Åsa\r\n');
    const i = await inspectFile(write(content));
    assert.equal(i.sha256, crypto.createHash('sha256').update(content).digest('hex'));
    assert.equal(i.headerLine, 'id,name');
    assert.equal(i.dataLines, 2);
    assert.equal(i.utf8, true);
    assert.equal(i.hasNul, false);
    assert.equal(i.notCsv, undefined, 'a UTF-8 byte-order mark is CSV text');
  });

  test('records, blank lines and quoted line breaks give each record its physical line', async () => {
    // 1-2 blank, 3 header, 4 r0, 5 blank, 6-7 r1 (a quoted break), 8 r2, 9 blank (CR LF), 10 r3 (no LF)
    const i = await inspectFile(write(Buffer.from('\n\na,b\n1,2\n\n"x\ny",2\n3,4\r\n\r\n5,6')));
    assert.equal(i.headerLine, 'a,b');
    assert.equal(i.leadingBlankLines, 2);
    assert.equal(i.records, 4);
    assert.equal(i.quotedLineBreaks, 1);
    assert.deepEqual(i.lineShifts, [
      [0, 2],
      [1, 3],
      [2, 4],
      [3, 5],
    ]);
    // physical line = index + 2 + extra lines: 4, 6, 8, 10
    assert.deepEqual(
      [0, 1, 2, 3].map((r) => r + 2 + (i.lineShifts?.findLast(([at]) => at <= r)?.[1] ?? 0)),
      [4, 6, 8, 10],
    );
    const plain = await inspectFile(write(Buffer.from('a,b\n1,2\n3,4\n\n\n')));
    assert.deepEqual([plain.records, plain.lineShifts, plain.leadingBlankLines], [2, [], 0]);
    // The reader's skip: a CR LF blank line counts twice after a bare LF first line break, once otherwise.
    const skips = await Promise.all(
      ['\n\r\na,b\n1,2\n', '\r\n\na,b\r\n1,2\r\n', '\n\na,b\n', '\r\n\r\na,b\n', 'a,b\n'].map((t) =>
        inspectFile(write(Buffer.from(t))),
      ),
    );
    assert.deepEqual(
      skips.map((x) => [x.leadingBlankLines, x.readerSkip]),
      [
        [2, 3],
        [2, 2],
        [2, 2],
        [2, 2],
        [0, 0],
      ],
    );
  });

  test('a blank CR LF line split between two reads is still blank', async () => {
    // The CR is the last byte of the first 4 MiB read, its LF the first byte of the next.
    const filler = 'x,y\n'.repeat(1048573) + 'x,yyyy\n';
    const content = Buffer.from(`a,b\n${filler}\r\n1,2\n`);
    assert.equal(content[CHUNK - 1], 13);
    const i = await inspectFile(write(content));
    assert.equal(i.records, 1048575);
    assert.deepEqual(i.lineShifts, [[1048574, 1]]);
    assert.equal(i.dataLines, 1048575);
  });

  test('more line shifts than are listed: none listed (line numbers then count records)', async () => {
    const i = await inspectFile(write(Buffer.from('a,b\n' + '1,2\n\n'.repeat(MAX_LINE_SHIFTS + 5))));
    assert.equal(i.records, MAX_LINE_SHIFTS + 5);
    assert.equal(i.lineShifts, undefined);
  });

  test('files that are not CSV text are named by their first bytes', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('patient_id,mrn\n', 'utf16le')]);
    assert.match((await inspectFile(write(utf16))).notCsv ?? '', /^UTF-16 text/);
    const gz = (await import('node:zlib')).gzipSync(Buffer.from('patient_id,mrn\nE1,M1\n'));
    assert.match((await inspectFile(write(gz))).notCsv ?? '', /gzip-compressed/);
    assert.match(
      notCsvSignature(Buffer.from('PK\x03\x04rest', 'latin1')) ?? '',
      /ZIP archive or an Excel workbook/,
    );
    assert.match(notCsvSignature(Buffer.from('PAR1....')) ?? '', /Parquet/);
    assert.match(notCsvSignature(Buffer.from('%PDF-1.7')) ?? '', /PDF/);
    // text that merely starts like a signature is not one
    assert.equal(notCsvSignature(Buffer.from('PK,name\n')), undefined);
    assert.equal(notCsvSignature(Buffer.from('%PD')), undefined, 'a file shorter than the signature');
    assert.equal(notCsvSignature(Buffer.alloc(0)), undefined);
  });

  for (const offset of [1, 2, 3]) {
    test(`a four-byte character split ${offset} byte(s) before a read boundary is valid UTF-8`, async () => {
      const i = await inspectFile(write(straddling(Buffer.from('😀'), offset)));
      assert.equal(i.utf8, true);
    });
  }

  test('a three-byte character split at a read boundary is valid UTF-8', async () => {
    const i = await inspectFile(write(straddling(Buffer.from('€'), 1)));
    assert.equal(i.utf8, true);
  });

  test('an invalid byte across a read boundary, a lone byte and a cut sequence are not UTF-8', async () => {
    // a lead byte whose continuation is missing, right at the boundary
    assert.equal((await inspectFile(write(straddling(Buffer.from([0xe2, 0x41]), 1)))).utf8, false);
    assert.equal((await inspectFile(write(Buffer.from('a,b\n1,caf\xe9\n', 'latin1')))).utf8, false);
    // a sequence cut by the end of the file
    assert.equal((await inspectFile(write(Buffer.from([0x61, 0x0a, 0xf0, 0x9f, 0x98])))).utf8, false);
    // a NUL byte is valid UTF-8 but flagged
    const nul = await inspectFile(write(Buffer.from('a,b\n1,\0\n')));
    assert.equal(nul.hasNul, true);
    assert.equal(nul.utf8, true);
  });

  test('blank lines (LF, CRLF, several in a row) are not data lines; a last line without LF is', async () => {
    const cases: [string, number][] = [
      ['a,b\r\n1,2\r\n\r\n3,4\n\n\n5,6', 3],
      ['a,b\n\n\n\n1,2\n', 1],
      ['a,b\n1,2\n\r\n\n2,3\r\n\r\n', 2],
      ['a,b\n', 0],
    ];
    for (const [text, lines] of cases)
      assert.equal((await inspectFile(write(Buffer.from(text)))).dataLines, lines, JSON.stringify(text));
  });

  test('the longest record: line ending included, quoted line breaks inside it, across read boundaries', async () => {
    assert.equal((await inspectFile(write(Buffer.from('a,b\n1,22222\r\n3,4')))).longestRecord, 9);
    assert.equal((await inspectFile(write(Buffer.from('abc')))).longestRecord, 3, 'no line feed at all');
    // one line spanning three reads, between short lines
    const long = Buffer.concat([
      Buffer.from('a,b\n'),
      Buffer.alloc(2 * CHUNK + 10, 'x'),
      Buffer.from('\n1,2\n'),
    ]);
    assert.equal((await inspectFile(write(long))).longestRecord, 2 * CHUNK + 11);
    // a line that ends exactly at a read boundary, then a longer one starting the next read
    const edge = Buffer.concat([
      Buffer.alloc(CHUNK - 1, 'x'),
      Buffer.from('\n'),
      Buffer.alloc(CHUNK + 5, 'y'),
    ]);
    assert.equal((await inspectFile(write(edge))).longestRecord, CHUNK + 5);
    // quoted line breaks belong to the record; an escaped quote changes nothing
    const quoted = 'a,b\n1,"x\ny\n""z""\nw"\n2,3\n';
    assert.equal((await inspectFile(write(Buffer.from(quoted)))).longestRecord, 16);
    // a quoted span over a read boundary
    const spanning = Buffer.concat([
      Buffer.from('a,b\n1,"'),
      Buffer.alloc(CHUNK, 'x\n'),
      Buffer.from('"\n2,3\n'),
    ]);
    assert.equal((await inspectFile(write(spanning))).longestRecord, CHUNK + 5);
  });

  test('an empty file has no header and no data lines', async () => {
    const i = await inspectFile(write(Buffer.alloc(0)));
    assert.equal(i.headerLine, undefined);
    assert.equal(i.dataLines, 0);
    assert.equal(i.utf8, true);
  });
});

describe('inspectFiles', () => {
  const files = (): { filePath: string; sizeBytes: number }[] =>
    [
      Buffer.concat([Buffer.from('a,b\n'), Buffer.alloc(CHUNK + 7, '1,2\n')]),
      Buffer.from('a,b\n1,"x\ny"\n'),
      Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0x0a]),
      Buffer.alloc(0),
    ].map((content) => {
      const filePath = write(content);
      return { filePath, sizeBytes: content.length };
    });

  test('the hashing thread gives what inspecting each file on this thread gives', async () => {
    const batch = files();
    // parallelFrom 1: the hash is computed on the worker thread even for this small batch
    const parallel = await inspectFiles(batch, 1);
    assert.deepEqual(
      [...parallel.keys()],
      batch.map((f) => f.filePath),
    );
    for (const f of batch) {
      const alone = await inspectFile(f.filePath);
      assert.deepEqual(parallel.get(f.filePath), alone);
      assert.equal(
        alone.sha256,
        crypto.createHash('sha256').update(fs.readFileSync(f.filePath)).digest('hex'),
      );
    }
    assert.equal(parallel.get(batch[2]?.filePath ?? '')?.utf8, false);
    assert.equal(parallel.get(batch[0]?.filePath ?? '')?.dataLines, Math.ceil((CHUNK + 7) / 4));
  });

  test('a file the hashing thread cannot read is reported as inspecting it here would report it', async () => {
    const missing = path.join(dir, 'gone.csv');
    await assert.rejects(inspectFiles([{ filePath: missing, sizeBytes: 1 }], 1), /ENOENT/);
  });

  test('a small batch is inspected on this thread, with the same result', async () => {
    const batch = files();
    const inline = await inspectFiles(batch);
    for (const f of batch) assert.deepEqual(inline.get(f.filePath), await inspectFile(f.filePath));
  });
});

describe('firstUndefinedLatin1Byte', () => {
  test('finds the first byte from 0x80 to 0x9F and its physical line, past a 1 MiB read', async () => {
    const lines = 300_000; // about 1.2 MB of lines before the byte
    const before = Buffer.from('a,b\n' + 'x,y\n'.repeat(lines));
    const file = write(
      Buffer.concat([before, Buffer.from('caf'), Buffer.from([0xe9, 0x2c, 0x93, 0x9f, 0x0a])]),
    );
    assert.deepEqual(await firstUndefinedLatin1Byte(file), { line: lines + 2, byte: 0x93 });
  });

  test('none in Latin-1 text (0xA0-0xFF), ASCII or an empty file; a lone 0x80 is on line 1', async () => {
    const latin1 = Buffer.from(Array.from({ length: 96 }, (_, i) => 0xa0 + i));
    for (const content of [latin1, Buffer.from('a,b\n1,2\n'), Buffer.alloc(0)])
      assert.equal(await firstUndefinedLatin1Byte(write(content)), undefined);
    assert.deepEqual(await firstUndefinedLatin1Byte(write(Buffer.from([0x80]))), { line: 1, byte: 0x80 });
  });
});
