import type { FileStorage, FileWriter } from '../storage/index.js';
import type { UnitFile } from './unit-spec.js';

/** The header line that opens a block (https://hl7.org/fhir/uv/bulkdata/export.html#organizeoutputby). */
export function blockHeader(reference: string): string {
  return JSON.stringify({
    resourceType: 'Parameters',
    parameter: [{ name: 'header', valueReference: { reference } }],
  });
}

/**
 * Writes resource blocks for organizeOutputBy. A new file starts between blocks once `maxBytes` is
 * reached; a block larger than that continues in a new file that repeats its header, and the first
 * file names it in `continuesIn`. `count` counts resources, not header lines.
 */
export class BlockWriter {
  private current: FileWriter | undefined;
  private count = 0;
  private part = 0;
  private readonly files: UnitFile[] = [];

  constructor(
    private readonly storage: FileStorage,
    private readonly jobId: string,
    private readonly prefix: string,
    private readonly maxBytes: number,
  ) {}

  private name(n: number): string {
    return `${this.prefix}.${n}.ndjson`;
  }

  private async open(): Promise<FileWriter> {
    if (!this.current) {
      this.part += 1;
      this.current = await this.storage.createWriter(this.jobId, this.name(this.part));
      this.count = 0;
    }
    return this.current;
  }

  private async close(continues: boolean): Promise<void> {
    if (!this.current) return;
    const info = await this.current.commit();
    const file: UnitFile = {
      kind: 'output',
      type: '',
      name: info.name,
      count: this.count,
      bytes: info.bytes,
    };
    if (continues) file.continuesIn = this.name(this.part + 1);
    this.files.push(file);
    this.current = undefined;
  }

  /** Write one block: its header, then each resource line. */
  async writeBlock(reference: string, lines: string[]): Promise<void> {
    const header = blockHeader(reference);
    if (this.current && this.current.bytes >= this.maxBytes) await this.close(false);
    let writer = await this.open();
    await writer.write(header + '\n');
    for (const line of lines) {
      if (writer.bytes >= this.maxBytes) {
        await this.close(true);
        writer = await this.open();
        await writer.write(header + '\n');
      }
      await writer.write(line + '\n');
      this.count += 1;
    }
  }

  /** Commit the last file and list every file written. */
  async finish(): Promise<UnitFile[]> {
    await this.close(false);
    return this.files;
  }

  /** Discard the file in progress. */
  async abort(): Promise<void> {
    await this.current?.abort();
    this.current = undefined;
  }
}
