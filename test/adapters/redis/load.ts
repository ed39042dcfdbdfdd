/**
 * A bounded mixed workload for the fault tests, written once for both APIs: INCR of one counter, RPUSH of
 * unique ids to one list, GET of a fixed key. The checks: nothing applied twice, every acknowledged write
 * present, every GET answered.
 */
import assert from 'node:assert/strict';
import { OutcomeUnknownError } from '../../../src/exec/index.js';
import { assertNoDuplicates, type Lab, sleep } from './support.js';

/** The three commands, whichever API runs them. */
export interface Ops {
  incr(key: string): Promise<unknown>;
  rpush(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
}

export interface Outcome {
  incrOk: number;
  incrUnknown: number;
  pushed: string[];
  pushUnknown: string[];
  getFailures: unknown[];
  otherFailures: unknown[];
}

/** `rounds` rounds of `callers` concurrent callers, each round an INCR, an RPUSH and a GET per caller. */
export async function runLoad(
  ops: Ops,
  lab: Lab,
  rounds: number,
  callers = 8,
  pauseMs = 5,
): Promise<Outcome> {
  const { prefix } = lab;
  const outcome: Outcome = {
    incrOk: 0,
    incrUnknown: 0,
    pushed: [],
    pushUnknown: [],
    getFailures: [],
    otherFailures: [],
  };
  const unknownOr = (error: unknown, onUnknown: () => void) => {
    if (error instanceof OutcomeUnknownError) onUnknown();
    else outcome.otherFailures.push(error);
  };
  for (let round = 0; round < rounds; round++) {
    await Promise.all(
      Array.from({ length: callers }, async (_, caller) => {
        const id = `${round}-${caller}`;
        await Promise.all([
          ops.incr(`${prefix}counter`).then(
            () => outcome.incrOk++,
            (error: unknown) => unknownOr(error, () => outcome.incrUnknown++),
          ),
          ops.rpush(`${prefix}ids`, id).then(
            () => outcome.pushed.push(id),
            (error: unknown) => unknownOr(error, () => outcome.pushUnknown.push(id)),
          ),
          ops.get(`${prefix}fixed`).then(
            (value) => {
              if (value !== 'fixed') outcome.getFailures.push(new Error(`GET answered ${String(value)}`));
            },
            (error: unknown) => outcome.getFailures.push(error),
          ),
        ]);
      }),
    );
    await sleep(pauseMs);
  }
  return outcome;
}

/** The guarantees, checked against the server itself. */
export async function checkOutcome(lab: Lab, outcome: Outcome): Promise<void> {
  const { admin, prefix } = lab;
  assert.deepEqual(outcome.getFailures, [], 'GET never fails');
  assert.deepEqual(outcome.otherFailures, [], 'writes fail only as outcome-unknown');
  const counter = Number((await admin.get(`${prefix}counter`)) ?? 0);
  assert.ok(counter >= outcome.incrOk, `every acknowledged INCR applied (${counter} < ${outcome.incrOk})`);
  assert.ok(
    counter <= outcome.incrOk + outcome.incrUnknown,
    `no INCR applied twice: counter ${counter} > ${outcome.incrOk} acknowledged + ${outcome.incrUnknown} unknown`,
  );
  const ids = await admin.lrange(`${prefix}ids`, 0, -1);
  assertNoDuplicates(ids, 'RPUSH');
  const stored = new Set(ids);
  assert.deepEqual(
    outcome.pushed.filter((id) => !stored.has(id)),
    [],
    'every acknowledged RPUSH is in the list',
  );
  const allowed = new Set([...outcome.pushed, ...outcome.pushUnknown]);
  assert.deepEqual(
    ids.filter((id) => !allowed.has(id)),
    [],
    'only ids that were pushed',
  );
}

/**
 * The faults of issue 12, each injected while the load runs against a client with one connection.
 */
export const faults: Record<string, (lab: Lab) => Promise<void>> = {
  async 'connection resets'({ proxy }) {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      proxy.closeAll('reset');
    }
  },
  async 'FINs from the server side'({ proxy }) {
    for (let i = 0; i < 4; i++) {
      await sleep(40);
      proxy.closeAll('fin');
    }
  },
  async 'a lifetime cut of every connection'({ proxy }) {
    proxy.addToxic({
      name: 'lifetime',
      type: 'lifetime',
      stream: 'downstream',
      attributes: { lifetime: 60 },
    });
    await sleep(400);
    proxy.removeToxic('lifetime');
  },
  async 'a stall of the replies'({ proxy }) {
    proxy.addToxic({
      name: 'stall',
      type: 'stall_reads',
      stream: 'downstream',
      attributes: { duration: 300 },
    });
    await sleep(400);
    proxy.removeToxic('stall');
  },
  async 'a middlebox that swallows bytes'({ proxy }) {
    // The client's connection swallows every request from then on and stays open and silent; new connections
    // (the client's next one, the verifier's question) pass.
    await sleep(40);
    const newest = Math.max(...proxy.connections().map((c) => c.id));
    proxy.addToxic({
      name: 'swallow',
      type: 'timeout',
      stream: 'upstream',
      attributes: { timeout: 0 },
      target: { connection: newest },
    });
    await sleep(1000);
  },
  async 'a server restart'({ proxy }) {
    await sleep(40);
    proxy.disable();
    await sleep(300);
    await proxy.enable();
  },
};
