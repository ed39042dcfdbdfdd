// One pool per child process for the same-run driver benchmarks (bench/pg.ts, bench/mysql.ts): an application
// holds one pool, and in one process the driver code both pools run is compiled for whichever ran first (for
// mysql2 the second paid ~10 % more CPU per query: docs/mysql.md, Overhead). The parent forks a child per pool
// and asks it for rounds one at a time (the other children wait), so rounds still alternate A/B, B/A.
import { fork } from 'node:child_process';
import { once } from 'node:events';

/** The parent's handle on one child: `ask` sends a message and resolves with the child's answer. */
export interface RoundChild<Q, A> {
  ask(question: Q): Promise<A>;
  end(): Promise<void>;
}

/** Forks `script` with `args` (the parent's execArgv, so tsx and --expose-gc carry over) and waits until it is ready. */
export async function startRoundChild<Q, A>(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RoundChild<Q, A>> {
  const proc = fork(script, args, { execArgv: process.execArgv, env });
  const next = () =>
    new Promise<unknown>((resolve, reject) => {
      const exited = (code: number | null) =>
        reject(new Error(`${args.join(' ')}: the child exited (${code})`));
      proc.once('exit', exited);
      proc.once('message', (message) => {
        proc.off('exit', exited);
        resolve(message);
      });
    });
  await next();
  return {
    ask: async (question) => {
      const answer = next() as Promise<A>;
      proc.send({ question });
      return answer;
    },
    end: async () => {
      const exited = once(proc, 'exit');
      proc.send({ end: true });
      await exited;
    },
  };
}

/**
 * In the child: answers each question with `answer`'s result; at the end runs `close` and lets the process
 * exit. A failed round ends the child, which the parent's `ask` reports.
 */
export function serveRounds<Q>(
  name: string,
  answer: (question: Q) => Promise<unknown>,
  close: () => Promise<void>,
): void {
  const send = (message: unknown) => (process.send as (m: unknown) => boolean)(message);
  process.on('message', (message: { question: Q } | { end: true }) => {
    if ('end' in message) {
      void close().finally(() => process.disconnect());
      return;
    }
    answer(message.question).then(send, (error: unknown) => {
      console.error(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
  });
  send({ ready: true });
}
