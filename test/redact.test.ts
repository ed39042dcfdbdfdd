// redact(): property-style checks over generated passwords. A seeded generator (deterministic, so a failure
// reproduces) builds passwords from the characters that break naive parsers ('@' ':' '/' '#' '?' '%', spaces,
// quotes, backslashes, unicode), writes them the ways connection strings carry them, embeds them in the kind
// of text an error message is, and checks that no part of the password survives while host and database do.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redact } from '../src/core/errors.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = ['@', ':', '/', '#', '?', '%', ' ', "'", '"', '\\', '&', '=', 'é', 'ß', '密', '码', '🔑'];
const PLAIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.';

function pick<T>(random: () => number, items: ArrayLike<T>): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** 8–24 characters, about a third of them special, at least one '@'-like troublemaker. */
function password(random: () => number): string {
  const chars: string[] = [pick(random, SPECIAL)];
  const length = 8 + Math.floor(random() * 17);
  while (chars.length < length) chars.push(random() < 0.35 ? pick(random, SPECIAL) : pick(random, PLAIN));
  // Shuffle so the special one is anywhere, the first and last position included.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

interface Case {
  /** The text as an application or a driver would produce it. */
  text: string;
  /** What redact must return. */
  expected: string;
  password: string;
  host: string;
  db: string;
}

const SCHEMES = ['postgres', 'postgresql', 'mysql', 'redis'];
const AROUND: ReadonlyArray<readonly [string, string]> = [
  ['', ''],
  ['cannot use the database at ', ': connect ECONNREFUSED 127.0.0.1:5432'],
  ['connect failed (', ') after 3 attempts'],
  ['DATABASE_URL=', '\nnext line'],
  ['"', '" is not reachable'],
];

function url(random: () => number, pw: string, encoded: boolean): Case {
  const scheme = pick(random, SCHEMES);
  const user = pick(random, ['u', 'app_user', 'postgres', '']);
  const host = pick(random, ['db.internal', '127.0.0.1', 'h', '[::1]', 'primary.example.com']);
  const port = pick(random, ['', ':5432', ':6379']);
  const db = pick(random, ['test', 'orders_db', 'app']);
  const query = pick(random, ['', '?sslmode=require', '?application_name=x&connect_timeout=5']);
  const [before, after] = pick(random, AROUND);
  const secret = encoded ? encodeURIComponent(pw) : pw;
  const tail = `@${host}${port}/${db}${query}`;
  return {
    text: `${before}${scheme}://${user}:${secret}${tail}${after}`,
    expected: `${before}${scheme}://${user}:***${tail}${after}`,
    password: secret,
    host,
    db,
  };
}

/**
 * libpq's conninfo: a value with spaces or quotes is single-quoted, ' and \ escaped with a backslash. A bare
 * value runs to whitespace, so one is always written after it.
 */
function conninfo(random: () => number, pw: string): Case {
  const host = pick(random, ['db.internal', '10.0.0.7']);
  const db = pick(random, ['test', 'orders_db']);
  const quoted = /[\s'"\\]/.test(pw) || random() < 0.5;
  const value = quoted ? `'${pw.replace(/['\\]/g, '\\$&')}'` : pw;
  const [before, after] = pick(random, AROUND);
  const order = random() < 0.5;
  const fields = (secret: string) =>
    order
      ? `host=${host} password=${secret} dbname=${db}`
      : `host=${host} user=u password = ${secret}\tdbname=${db}`;
  return {
    text: `${before}${fields(value)}${after}`,
    expected: `${before}${fields('***')}${after}`,
    password: pw,
    host,
    db,
  };
}

/** A config object printed as JSON. */
function json(random: () => number, pw: string): Case {
  const host = pick(random, ['db.internal', '10.0.0.7']);
  const db = pick(random, ['test', 'orders_db']);
  const text = JSON.stringify({ host, password: pw, database: db });
  return {
    text,
    expected: `{"host":${JSON.stringify(host)},"password":***,"database":${JSON.stringify(db)}}`,
    password: JSON.stringify(pw).slice(1, -1),
    host,
    db,
  };
}

/** Fails when any 4-character run of the password is in `out`: catching a leaked tail, not only the whole. */
function assertNoPart(out: string, pw: string, context: string): void {
  const chars = [...pw];
  for (let i = 0; i + 4 <= chars.length; i++) {
    const part = chars.slice(i, i + 4).join('');
    assert.ok(!out.includes(part), `part ${JSON.stringify(part)} of the password leaks: ${context} → ${out}`);
  }
}

function check(c: Case): void {
  const out = redact(c.text);
  const context = JSON.stringify(c.text);
  assert.ok(!out.includes(c.password), `the password leaks: ${context} → ${out}`);
  assertNoPart(out, c.password, context);
  assert.ok(out.includes(c.host), `the host is gone: ${context} → ${out}`);
  assert.ok(out.includes(c.db), `the database is gone: ${context} → ${out}`);
  assert.equal(out, c.expected, context);
}

const N = 400;

describe('redact: generated passwords never survive, host and database do', () => {
  test('the reported case: user info runs to the last @', () => {
    assert.equal(redact('postgres://u:S3c@retPW@h/db'), 'postgres://u:***@h/db');
  });

  test('URLs with the password written raw', () => {
    const random = prng(1);
    for (let i = 0; i < N; i++) check(url(random, password(random), false));
  });

  test('URLs with the password percent-encoded', () => {
    const random = prng(2);
    for (let i = 0; i < N; i++) check(url(random, password(random), true));
  });

  test('libpq key=value strings, quoted and bare', () => {
    const random = prng(3);
    for (let i = 0; i < N; i++) check(conninfo(random, password(random)));
  });

  test('a config printed as JSON', () => {
    const random = prng(4);
    for (let i = 0; i < N; i++) check(json(random, password(random)));
  });

  test('two URLs in one message: each keeps its own host', () => {
    const random = prng(5);
    for (let i = 0; i < N; i++) {
      const a = url(random, password(random), random() < 0.5);
      const b = url(random, password(random), random() < 0.5);
      const text = `primary ${a.text}, standby ${b.text}`;
      const out = redact(text);
      assert.equal(out, `primary ${a.expected}, standby ${b.expected}`, JSON.stringify(text));
      assertNoPart(out, a.password, text);
      assertNoPart(out, b.password, text);
    }
  });

  test('an @ later in the message may hide more, never less', () => {
    const random = prng(6);
    for (let i = 0; i < N; i++) {
      const c = url(random, password(random), false);
      const text = `${c.text} (ask dba@example.com)`;
      assertNoPart(redact(text), c.password, text);
    }
  });

  // Each of these took quadratic time in an earlier version (minutes at this size); the test's timeout is
  // what catches a regression, the assertions check the result.
  test('long hostile texts are handled in one pass', { timeout: 20_000 }, () => {
    const n = 200_000;
    assert.equal(redact('-' + 'a'.repeat(n)), '-' + 'a'.repeat(n));
    assert.equal(redact('x://'.repeat(n)), 'x://'.repeat(n));
    assert.equal(redact(`${'x://u:p '.repeat(n)}@h`), `${'x://u:p '.repeat(n - 1)}x://u:***@h`);
    assert.equal(redact(' x://u@'.repeat(n)), ' x://u@'.repeat(n));
    assert.equal(redact(`password=${'\\'.repeat(n)} host=h`), 'password=*** host=h');
  });

  test('a non-string (whatever was thrown) is shown as text, never a TypeError', () => {
    assert.equal(redact(42 as never), '42');
    assert.equal(redact(undefined as never), 'undefined');
    assert.equal(redact(Object.create(null) as never), '[object Object]');
    assert.equal(redact(new URL('postgres://u:p%40ss@h/db') as never), 'postgres://u:***@h/db');
  });

  test('text without a password is left alone', () => {
    for (const text of [
      'postgres://u@h:5432/db',
      'postgres://h:5432/db?sslmode=require',
      'password authentication failed for user "u"',
      'connect ECONNREFUSED 127.0.0.1:5432',
      'mailto: dba@example.com',
    ]) {
      assert.equal(redact(text), text);
    }
  });

  test('the value of password keys in other spellings', () => {
    assert.equal(redact('PGPASSWORD=hunter2 psql'), 'PGPASSWORD=*** psql');
    assert.equal(redact("{ host: 'h', password: 'hunter 2' }"), "{ host: 'h', password: *** }");
    assert.equal(redact('postgres://h/db?user=u&password=a&b#c'), 'postgres://h/db?user=u&password=***');
    assert.equal(redact('host=h sslpassword=k3y port=1'), 'host=h sslpassword=*** port=1');
  });
});
