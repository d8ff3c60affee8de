/**
 * Collects one output stream up to `maxBytes` and discards the rest, so a runaway command costs
 * at most `maxBytes` of memory per stream.
 */
export class CappedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** True once a byte beyond `maxBytes` arrived. */
  overflowed = false;

  constructor(private readonly maxBytes: number) {}

  /** Returns false once the stream has gone over the cap. */
  push(chunk: Buffer): boolean {
    if (this.overflowed) return false;
    const room = this.maxBytes - this.kept;
    if (chunk.length <= room) {
      this.chunks.push(chunk);
      this.kept += chunk.length;
      return true;
    }
    if (room > 0) this.chunks.push(chunk.subarray(0, room));
    this.kept = this.maxBytes;
    this.overflowed = true;
    return false;
  }

  /** UTF-8 text (invalid bytes become U+FFFD), with a marker line when it was cut. */
  text(): string {
    const body = Buffer.concat(this.chunks, this.kept).toString('utf8');
    return this.overflowed ? `${body}\n${truncationMarker(this.maxBytes)}` : body;
  }
}

/** `[… output truncated at 1 MiB …]` */
export function truncationMarker(maxBytes: number): string {
  return `[… output truncated at ${formatBytes(maxBytes)} …]`;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
