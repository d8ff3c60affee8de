import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchCommand, splitBatchOutput } from '../../../src/core/playbook/batch-command.ts';
import { shellQuote } from '../../../src/core/playbook/shell-quote.ts';

const NONCE = '0123456789abcdef0123456789abcdef';

/** Runs the batch the way sshd does (`sh -c <line>`), with no stdin. */
function runInSh(line: string): { stdout: string; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', line], { input: '', encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr };
}

describe('batchCommand / splitBatchOutput: several allowlisted commands in one remote shell', () => {
  it('gives each command back its own stdout, stderr and exit status, byte for byte', () => {
    const argvs = [
      ['printf', 'a\\nb\\n'],
      ['printf', 'no newline at the end'],
      ['ls', '-d', '/nonexistent-medic-path'],
      ['printf', '%s\\n', "it's $(not) `run` ; | & > <"],
      ['true'],
    ];
    const out = runInSh(batchCommand(argvs, NONCE));
    const parts = splitBatchOutput(out.stdout, out.stderr, NONCE, argvs.length);
    expect(parts).toHaveLength(5);
    expect(parts[0]).toEqual({ exitCode: 0, stdout: 'a\nb\n', stderr: '' });
    expect(parts[1]).toEqual({ exitCode: 0, stdout: 'no newline at the end', stderr: '' });
    expect(parts[2]?.exitCode).toBe(2);
    expect(parts[2]?.stdout).toBe('');
    expect(parts[2]?.stderr).toMatch(/nonexistent-medic-path/);
    expect(parts[3]?.stdout).toBe("it's $(not) `run` ; | & > <\n");
    expect(parts[4]).toEqual({ exitCode: 0, stdout: '', stderr: '' });
  });

  it('a missing program is exit 127 for that command only; the next one still runs', () => {
    const out = runInSh(batchCommand([['medic-no-such-program'], ['echo', 'after']], NONCE));
    const parts = splitBatchOutput(out.stdout, out.stderr, NONCE, 2);
    expect(parts.map((p) => p.exitCode)).toEqual([127, 0]);
    expect(parts[1]?.stdout).toBe('after\n');
  });

  it('quotes every command with shellQuote, and adds nothing but fixed printf lines', () => {
    const argvs = [
      ['cat', "/tmp/x'; rm -rf / #"],
      ['tail', '-n', '3000', '/var/log/$(id)'],
    ];
    const line = batchCommand(argvs, NONCE);
    for (const argv of argvs) expect(line).toContain(shellQuote(argv));
    const rest = argvs.reduce((text, argv) => text.replace(shellQuote(argv), 'CMD'), line);
    expect(
      rest.split('; ').filter((s) => s !== 'CMD' && !/^printf '(%s\\n|\\n%s:%s\\n|\\n%s:\\n)' [0-9a-f]+:\d+( "\$\?")?( >&2)?$/.test(s)),
    ).toEqual([]);
  });

  it("output that imitates the markers, as ps shows the batch's own command line, is taken as output", () => {
    const line = batchCommand(
      [
        ['printf', '%s\\n', 'x'],
        ['echo', 'y'],
      ],
      NONCE,
    );
    const out = runInSh(
      batchCommand(
        [
          ['printf', '%s\\n', line],
          ['echo', 'next'],
        ],
        NONCE,
      ),
    );
    const parts = splitBatchOutput(out.stdout, out.stderr, NONCE, 2);
    expect(parts[0]?.stdout).toBe(`${line}\n`);
    expect(parts[1]?.stdout).toBe('next\n');
  });

  it('stops at the first command whose end never came (the batch was stopped): the rest run again alone', () => {
    const out = runInSh(
      batchCommand(
        [
          ['echo', 'done'],
          ['echo', 'cut'],
          ['echo', 'never'],
        ],
        NONCE,
      ),
    );
    const cut = out.stdout.slice(0, out.stdout.indexOf('cut') + 4);
    expect(splitBatchOutput(cut, out.stderr, NONCE, 3)).toHaveLength(1);
    expect(splitBatchOutput('', '', NONCE, 3)).toEqual([]);
  });

  it('refuses a nonce that is not hex, and an empty batch', () => {
    expect(() => batchCommand([['true']], "x'; id; '")).toThrow(/nonce/);
    expect(() => batchCommand([], NONCE)).toThrow(/no commands/);
  });
});
