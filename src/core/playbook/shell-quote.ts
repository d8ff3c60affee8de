/**
 * The one function that turns an argument array into a shell command line. Every command the
 * product sends to a host (checks and remediations) goes through here; nothing else builds a
 * shell string.
 *
 * POSIX single quotes make every byte literal except `'` itself, which is written as `'\''`.
 * NUL cannot be passed through a shell at all, so it is refused rather than dropped.
 */
export function shellQuote(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('shellQuote: empty command');
  return argv.map(quoteOne).join(' ');
}

function quoteOne(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('shellQuote: argument contains a NUL byte');
  if (arg !== '' && /^[A-Za-z0-9_\-./=:,@%+]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
