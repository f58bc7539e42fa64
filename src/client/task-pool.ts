/** Runs async tasks with at most `limit` at once; the first failure stops queued tasks from starting. */
export class TaskPool {
  private active = 0;
  private readonly queue: (() => Promise<void>)[] = [];
  private readonly waiters: (() => void)[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`parallelism must be a positive integer`);
  }

  /** Queue a task. */
  run(task: () => Promise<void>): void {
    if (this.failure) return;
    this.queue.push(task);
    this.pump();
  }

  /**
   * Wait until every task has finished.
   * @throws the first error a task threw.
   */
  async drain(): Promise<void> {
    if (this.active > 0 || this.queue.length > 0) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure.error;
  }

  private pump(): void {
    while (this.active < this.limit && this.queue.length > 0) {
      const task = this.queue.shift() as () => Promise<void>;
      this.active++;
      task()
        .catch((error: unknown) => {
          this.failure ??= { error };
          this.queue.length = 0;
        })
        .finally(() => {
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) for (const w of this.waiters.splice(0)) w();
        });
    }
  }
}
