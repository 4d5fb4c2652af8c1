// A progress bar on stderr: done/total, rate and ETA; redrawn in place on a terminal (at most
// 10 times a second), a line per 10% otherwise (logs stay readable).
export class Progress {
  readonly #start = Date.now();
  #done = 0;
  #lastDecile = -1;
  #lastDraw = 0;

  constructor(readonly label: string, public total: number, readonly unit = 'items', readonly enabled = true) {}

  /** A total that becomes known (or changes) while running, e.g. a schedule fitted to a time budget. */
  setTotal(total: number): void {
    this.total = total;
  }

  tick(n = 1, extra = ''): void {
    this.set(this.#done + n, extra);
  }

  /** Set the amount done and redraw. */
  set(done: number, extra = ''): void {
    this.#done = done;
    if (!this.enabled || this.total <= 0) return;
    const fraction = Math.min(1, this.#done / this.total);
    const finished = this.#done >= this.total - 1e-9;
    const now = Date.now();
    if (process.stderr.isTTY && !finished && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const elapsed = (now - this.#start) / 1000;
    const rate = this.#done / Math.max(elapsed, 1e-3);
    const eta = fraction > 0 ? elapsed * (1 / fraction - 1) : 0;
    const bar = '#'.repeat(Math.round(fraction * 24)).padEnd(24, '.');
    const fmt = (v: number) => (Number.isInteger(this.total) ? String(Math.round(v)) : v.toFixed(1));
    const line = `${this.label} [${bar}] ${fmt(this.#done)}/${fmt(this.total)} ${this.unit} ${rate.toFixed(1)} ${this.unit}/s ETA ${Math.round(eta)}s${extra ? ` ${extra}` : ''}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}\x1b[K`);
      if (finished) process.stderr.write('\n');
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile !== this.#lastDecile) {
        this.#lastDecile = decile;
        process.stderr.write(`${line}\n`);
      }
    }
  }
}
