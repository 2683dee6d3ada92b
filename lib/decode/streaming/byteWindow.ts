/**
 * The input bytes a framer still needs (a header split across two chunks, a frame waiting for the next one to
 * confirm its sync), addressed by absolute offset. Everything before `keepFrom` is dropped: a framer holds a
 * few KiB at most, whatever the input's length.
 */
const EMPTY = new Uint8Array(0);

export class ByteWindow {
  #base = 0;
  #buf: Uint8Array = EMPTY;

  /** Bytes appended so far (the absolute offset just past the last one). */
  get end(): number {
    return this.#base + this.#buf.length;
  }

  /** The kept bytes followed by `chunk`, and the absolute offset of `data[0]`. */
  append(chunk: Uint8Array): { data: Uint8Array; base: number } {
    let data = chunk;
    if (this.#buf.length > 0) {
      data = new Uint8Array(this.#buf.length + chunk.length);
      data.set(this.#buf);
      data.set(chunk, this.#buf.length);
    }
    this.#buf = data;
    return { data, base: this.#base };
  }

  /** Drop the bytes before absolute offset `at` (which may lie beyond the end: those bytes are skipped as they come). */
  keepFrom(at: number): void {
    const i = Math.max(0, at - this.#base);
    if (i >= this.#buf.length) {
      this.#base = this.end;
      this.#buf = EMPTY;
      return;
    }
    // a copy: the caller's chunk is only lent
    this.#buf = this.#buf.slice(i);
    this.#base += i;
  }
}
