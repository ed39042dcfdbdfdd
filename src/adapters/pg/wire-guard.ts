// A guard in front of pg's parser (pg-protocol): backend bytes that would hang or crash the process are turned
// into a typed error and the connection's end. Found by the soak's hostile-server fuzz (soak/hostile-pg.ts,
// test/adapters/pg/hostile-server.test.ts) against pg-protocol 1.16:
// - an ErrorResponse or NoticeResponse whose fields are not NUL-terminated sends parseErrorMessage into an
//   endless loop (BufferReader.string(1) past the buffer returns '', never '\0'): the process spins forever;
// - an unknown authentication code, a negative field count (new Array(-1)), a body shorter than its fields
//   make the parser throw inside the socket's 'data' event: an uncaught exception;
// - an unknown message type becomes an untyped DatabaseError ("received invalid response"), and a DataRow with
//   more columns than its RowDescription a TypeError in pg's Result.parseRow: both reach the query untyped.
// The guard follows message framing as chunks arrive (type byte, int32 length): a length below 4 or one
// libpq would refuse (over 30000 bytes for a type that is never long, over 1 GiB for any), a type pg-protocol
// does not know, a DataRow wider than the last RowDescription, and an ErrorResponse/NoticeResponse without its
// terminators end the connection before pg sees them; an exception thrown by pg-protocol's own frames while
// parsing is caught and ends the connection the same way. An exception thrown by the application's own
// callback (pg calls it from the same 'data' event) is not pg's parser and propagates unchanged.
// Cost, measured against pg-protocol's own parse of the same bytes (a ratio, so less load-dependent: 100
// select-1 replies, 400 messages, 4 rounds on a loaded 2-core machine): the guarded 'data' event takes
// 1.11–1.43× the bare parse, about 0.1 µs per message; parsing is a small part of a query's client time.
import type net from 'node:net';
import { sep } from 'node:path';
import { brand } from '../../core/brand.js';
import { LifelineError } from '../../core/errors.js';

/** The server (or something between) sent bytes that are not the PostgreSQL protocol; the connection is closed. */
export class PgProtocolError extends LifelineError {
  constructor(detail: string, cause?: unknown) {
    super(
      'LIFELINE_PG_PROTOCOL',
      `the server sent bytes that are not valid PostgreSQL protocol (${detail}); the connection was closed. ` +
        'Check that host and port lead to a PostgreSQL server (not another service or a broken proxy)',
      cause === undefined ? undefined : { cause },
    );
  }
}
brand(PgProtocolError, 'PgProtocolError');

const ERROR = 0x45; // 'E'
const NOTICE = 0x4e; // 'N'
const SHORT_MAX = 30000;
const LONG_MAX = 0x40000000;
/**
 * The longest body each message type may have, by type byte (0: a type pg-protocol does not parse, which it
 * would turn into an untyped "received invalid response" error). libpq's VALID_LONG_MESSAGE_TYPE (T D d V E
 * N A) may reach LONG_MAX, the other known types SHORT_MAX. A table rather than two Sets: it is read for
 * every message of every reply.
 */
const MAX_LENGTH = new Uint32Array(256);
for (const c of '123nscWIDCZARSKENTtGHd') MAX_LENGTH[c.charCodeAt(0)] = SHORT_MAX;
for (const c of 'TDdVENA') MAX_LENGTH[c.charCodeAt(0)] = LONG_MAX;
const ROW_DESCRIPTION = 0x54; // 'T'
const DATA_ROW = 0x44; // 'D'
const COMMAND_COMPLETE = 0x43; // 'C'
const READY = 0x5a; // 'Z'

/** pg-protocol's parseErrorMessage ends only at a field type of NUL inside the message. */
function fieldsTerminated(body: Buffer): boolean {
  let i = 0;
  for (;;) {
    if (i >= body.length) return false;
    if (body[i] === 0) return true;
    const end = body.indexOf(0, i + 1);
    if (end < 0) return false;
    i = end + 1;
  }
}

/** Whether the first frame of `error`'s stack that is not Node's own is in pg-protocol. */
function thrownByParser(error: unknown): boolean {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  for (const line of stack.split('\n').slice(1)) {
    if (/\(node:|at node:/.test(line)) continue;
    return line.includes(`${sep}pg-protocol${sep}`);
  }
  return false;
}

/** Follows message framing across chunks; `check` returns a problem, or undefined for bytes pg may parse. */
class Framing {
  private header = Buffer.alloc(5);
  private headerBytes = 0;
  private left = 0;
  private collect: Buffer[] | undefined;
  /**
   * Columns of the current result's RowDescription (-1: none since the last CommandComplete or
   * ReadyForQuery); a DataRow with more makes pg throw a TypeError.
   */
  private fields = -1;
  /** A T or D message whose int16 count is still to come (split across chunks): its type and bytes so far. */
  private countOf = 0;
  private countBytes: number[] = [];

  private counted(type: number, count: number): string | undefined {
    if (type === ROW_DESCRIPTION) this.fields = count;
    else if (count > this.fields)
      return `a data row of ${count} columns after a row description of ${Math.max(0, this.fields)}`;
    return undefined;
  }

  check(chunk: Buffer): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.countOf !== 0 && this.left > 0) {
        this.countBytes.push(chunk[i] as number);
        this.left--;
        i++;
        if (this.countBytes.length === 2) {
          const type = this.countOf;
          this.countOf = 0;
          const problem = this.counted(
            type,
            (((this.countBytes[0] as number) << 24) >> 16) | (this.countBytes[1] as number),
          );
          this.countBytes = [];
          if (problem !== undefined) return problem;
        }
        continue;
      }
      if (this.left > 0) {
        const take = Math.min(this.left, chunk.length - i);
        this.collect?.push(chunk.subarray(i, i + take));
        this.left -= take;
        i += take;
        if (this.left === 0 && this.collect !== undefined) {
          const body = Buffer.concat(this.collect);
          this.collect = undefined;
          if (!fieldsTerminated(body)) return 'an error or notice message without its field terminators';
        }
        continue;
      }
      let type: number;
      let length: number;
      if (this.headerBytes === 0 && chunk.length - i >= 5) {
        type = chunk[i] as number;
        length = chunk.readInt32BE(i + 1);
        i += 5;
      } else {
        const take = Math.min(5 - this.headerBytes, chunk.length - i);
        chunk.copy(this.header, this.headerBytes, i, i + take);
        this.headerBytes += take;
        i += take;
        if (this.headerBytes < 5) return undefined;
        this.headerBytes = 0;
        type = this.header[0] as number;
        length = this.header.readInt32BE(1);
      }
      if (length < 4) return `message length ${length}`;
      const max = MAX_LENGTH[type] as number;
      if (length > (max === 0 ? SHORT_MAX : max))
        return `message length ${length} for message type ${JSON.stringify(String.fromCharCode(type))}`;
      if (max === 0) return `unknown message type ${JSON.stringify(String.fromCharCode(type))}`;
      // pg starts a new result at the first row after CommandComplete: rows need a new RowDescription.
      if (type === COMMAND_COMPLETE || type === READY) this.fields = -1;
      this.left = length - 4;
      if ((type === ROW_DESCRIPTION || type === DATA_ROW) && this.left >= 2) {
        if (chunk.length - i >= 2) {
          const problem = this.counted(type, chunk.readInt16BE(i));
          if (problem !== undefined) return problem;
        } else this.countOf = type;
      }
      if (type === ERROR || type === NOTICE) {
        if (this.left === 0) return 'an empty error or notice message';
        this.collect = [];
      }
    }
    return undefined;
  }
}

/**
 * Puts the guard on `socket`, the stream pg reads backend messages from (the TCP socket, or the TLS socket
 * once pg upgraded: never the TCP socket under TLS, whose bytes are ciphertext). Bad bytes destroy the socket
 * with PgProtocolError, which pg reports as the connection's error.
 */
export function guardWire(socket: net.Socket): void {
  const framing = new Framing();
  const emit = socket.emit as (this: net.Socket, event: string | symbol, ...args: unknown[]) => boolean;
  let broken = false;
  const fail = (error: PgProtocolError): false => {
    broken = true;
    socket.destroy(error);
    return false;
  };
  // Declared with the one argument 'data' has, so that event allocates nothing here; the others pass
  // `arguments` through as they came.
  socket.emit = function guarded(this: net.Socket, event: string | symbol, chunk?: unknown): boolean {
    // biome-ignore lint/complexity/noArguments: every argument of any other event, without copying them
    if (event !== 'data') return Reflect.apply(emit, this, arguments) as boolean;
    if (broken) return false;
    if (Buffer.isBuffer(chunk)) {
      const problem = framing.check(chunk);
      if (problem !== undefined) return fail(new PgProtocolError(problem));
    }
    try {
      return emit.call(this, event, chunk);
    } catch (error) {
      if (!thrownByParser(error)) throw error;
      return fail(new PgProtocolError(`pg could not parse it: ${(error as Error).message}`, error));
    }
  } as typeof socket.emit;
}
