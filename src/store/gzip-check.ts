import { createReadStream } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/**
 * Why a gzip file cannot be loaded, or undefined when every member inflates and its CRC-32 and length
 * match (RFC 1952 §2.3). The file is streamed through zlib and the output dropped, so memory stays at
 * zlib's window and one read buffer however large the file.
 *
 * The loader calls this before it reads a `.gz` file for loading, because a gzip stream proves itself
 * only at its end: a damaged stream can inflate to plausible lines for megabytes before the check
 * fails, and those lines would be committed batch by batch. The cost is a second inflate of every
 * compressed file (measured in docs/config.md, `fhirhose load`).
 * @param file - path of a gzip file
 */
export async function gzipDamage(file: string): Promise<string | undefined> {
  const sink = new Writable({
    highWaterMark: 1 << 20,
    write: (_chunk, _encoding, done) => done(),
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), createGunzip(), sink);
    return undefined;
  } catch (err) {
    return `damaged gzip file (${(err as Error).message}): nothing from this file was loaded`;
  }
}
