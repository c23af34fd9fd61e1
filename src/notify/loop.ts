/**
 * The polling loop of a background worker: runs `pass` again at once while it handles
 * something, else sleeps `pollMs` unless woken (`wake()`), and backs off (doubling, at most
 * 30 s) while passes fail. Shared by the notification worker and the account-message worker.
 * Owns the timing only: what a pass does, and what a failure means, are its caller's.
 */
export class WorkerLoop {
  private running: Promise<void> | undefined;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private woken = false;

  constructor(
    private readonly pass: () => Promise<number>,
    private readonly failed: (error: unknown, failures: number) => void,
    private readonly pollMs = 1000,
  ) {}

  get started(): boolean {
    return this.running !== undefined;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  /** Resolves once the pass in flight (if any) has ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.running;
    this.running = undefined;
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      let handled = 0;
      this.woken = false;
      try {
        handled = await this.pass();
        failures = 0;
      } catch (error) {
        failures++;
        this.failed(error, failures);
      }
      if (this.stopping) break;
      if (handled === 0 || failures > 0) await this.sleep(failures > 0 ? Math.min(this.pollMs * 2 ** failures, 30_000) : this.pollMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
