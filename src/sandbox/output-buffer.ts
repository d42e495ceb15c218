// Keeps the first and last bytes of a stream, so a command that prints a gigabyte costs a
// bounded amount of memory and the model still sees how it started and how it ended.
export class OutputBuffer {
  readonly #limit: number;
  #head = '';
  #tail = '';
  #total = 0;

  constructor(limitBytes: number) {
    this.#limit = limitBytes;
  }

  push(chunk: string): void {
    this.#total += chunk.length;
    const half = Math.floor(this.#limit / 2);
    if (this.#head.length < half) {
      const room = half - this.#head.length;
      this.#head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    if (chunk) this.#tail = (this.#tail + chunk).slice(-half);
  }

  get truncated(): boolean {
    return this.#total > this.#head.length + this.#tail.length;
  }

  toString(): string {
    if (!this.truncated) return this.#head + this.#tail;
    const omitted = this.#total - this.#head.length - this.#tail.length;
    return `${this.#head}\n… (${omitted} characters omitted) …\n${this.#tail}`;
  }
}
