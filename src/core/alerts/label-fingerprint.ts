const OFFSET = 14695981039346656037n;
const PRIME = 1099511628211n;
const MASK = (1n << 64n) - 1n;
/** Prometheus puts 0xff between names and values so that {a="bc"} and {ab="c"} differ. */
const SEPARATOR = 0xff;

/**
 * The fingerprint Prometheus and Alertmanager give a label set (FNV-1a 64 over the sorted
 * names and values), as 16 hex digits. Generic alerts without a fingerprint get this one, so
 * the same alert sent through Alertmanager and through the generic webhook is one alert.
 */
export function labelFingerprint(labels: Readonly<Record<string, string>>): string {
  let hash = OFFSET;
  const add = (byte: number): void => {
    hash = ((hash ^ BigInt(byte)) * PRIME) & MASK;
  };
  const encoder = new TextEncoder();
  for (const name of Object.keys(labels).sort()) {
    for (const b of encoder.encode(name)) add(b);
    add(SEPARATOR);
    for (const b of encoder.encode(labels[name] ?? '')) add(b);
    add(SEPARATOR);
  }
  return hash.toString(16).padStart(16, '0');
}
