import { describe, expect, it } from 'vitest';
import { startTogether } from '../helpers/start-together.ts';

describe('startTogether (test helper)', () => {
  it('gives every started server, in order', async () => {
    const [a, b] = await startTogether(Promise.resolve('a'), Promise.resolve({ n: 2 }));
    expect(a).toBe('a');
    expect(b).toEqual({ n: 2 });
  });

  it('when one fails, stops those that started, then throws its error', async () => {
    const stopped: string[] = [];
    const server = (name: string) => ({ name, stop: async () => void stopped.push(name) });
    const failure = new Error('nginx: bind() failed (98: Address already in use)');
    await expect(
      startTogether(Promise.resolve(server('redis')), Promise.reject(failure), Promise.resolve(server('stand-in'))),
    ).rejects.toBe(failure);
    expect(stopped.sort()).toEqual(['redis', 'stand-in']);
  });
});
