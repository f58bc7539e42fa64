import { cpus, loadavg, totalmem } from 'node:os';
import { Socket } from 'node:net';
import type { MachineInfo } from './types.js';

const SAMPLE_MS = 5_000;

/** Samples the 1-minute load average until stopped, to say how busy the machine was. */
export class LoadSampler {
  private readonly samples: number[] = [loadavg()[0]!];
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.samples.push(loadavg()[0]!), SAMPLE_MS);
    this.timer.unref();
  }

  /** Stop sampling and describe the machine. */
  finish(): MachineInfo {
    clearInterval(this.timer);
    this.samples.push(loadavg()[0]!);
    const mean = this.samples.reduce((a, b) => a + b, 0) / this.samples.length;
    const cpu = cpus();
    return {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryMb: Math.round(totalmem() / 2 ** 20),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverage: {
        start: this.samples[0]!,
        mean: Math.round(mean * 100) / 100,
        max: Math.max(...this.samples),
        end: this.samples.at(-1)!,
      },
    };
  }
}

/** Whether something accepts TCP connections at host:port within `timeoutMs`. */
export async function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}
