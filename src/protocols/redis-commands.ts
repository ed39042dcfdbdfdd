/**
 * Which Redis commands may be sent again after the connection carrying them was lost before their reply.
 *
 * Three sources, each checked against the running server by test/adapters/redis/commands.test.ts:
 * - READ_ONLY: every command and subcommand the server flags `readonly` in `COMMAND INFO` (Redis 7.0).
 *   They change no key, so running one twice is the same as running it once.
 * - SAFE_NON_DATA: commands that touch no key and whose repetition leaves the same state (PING, SELECT,
 *   CLIENT SETNAME, SUBSCRIBE…). The server gives them no `write` flag; they are listed by hand because
 *   that absence alone is not enough (EVAL and PUBLISH have no `write` flag either).
 * - IDEMPOTENT_WRITES: writes whose second application leaves the state the first one left, given their
 *   arguments (SET without NX/XX/GET/KEEPTTL, DEL, HSET of given values, EXPIREAT…). A relative TTL
 *   (SET … EX, EXPIRE) counts from the last application, which falls inside the caller's call.
 * Everything else (INCR, LPUSH, XADD, EVAL, PUBLISH, MULTI/EXEC…) is outcome-unknown once sent.
 */

/** `COMMAND INFO` names with the `readonly` flag; subcommands as `container|sub`. */
export const READ_ONLY: ReadonlySet<string> = new Set(
  (
    'bitcount bitfield_ro bitpos dbsize dump eval_ro evalsha_ro exists expiretime fcall_ro geodist geohash ' +
    'geopos georadius_ro georadiusbymember_ro geosearch get getbit getrange hexists hget hgetall hkeys hlen ' +
    'hmget hrandfield hscan hstrlen hvals keys lcs lindex llen lolwut lpos lrange memory|usage mget ' +
    'object|encoding object|freq object|idletime object|refcount pexpiretime pfcount pttl randomkey scan ' +
    'scard sdiff sinter sintercard sismember smembers smismember sort_ro srandmember sscan strlen substr ' +
    'sunion touch ttl type xinfo|consumers xinfo|groups xinfo|stream xlen xpending xrange xread xrevrange ' +
    'zcard zcount zdiff zinter zintercard zlexcount zmscore zrandmember zrange zrangebylex zrangebyscore ' +
    'zrank zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion'
  ).split(' '),
);

/** Commands on no key whose repetition is harmless; none has the server's `write` or `readonly` flag. */
export const SAFE_NON_DATA: ReadonlySet<string> = new Set(
  (
    'ping echo select time info lastsave role hello auth readonly readwrite asking wait ' +
    'client|getname client|id client|info client|list client|setname client|tracking client|trackinginfo client|getredir ' +
    'client|caching command|count command|docs command|info command|list command|getkeys ' +
    'command|getkeysandflags config|help acl|whoami acl|cat pubsub|channels pubsub|numpat pubsub|numsub ' +
    'pubsub|shardchannels pubsub|shardnumsub subscribe psubscribe ssubscribe unsubscribe punsubscribe ' +
    'sunsubscribe script|exists function|list function|dump function|stats memory|stats memory|doctor ' +
    'latency|help slowlog|help'
  ).split(' '),
);

/** Commands that block by design: no reply for as long as they wait (XREAD only with BLOCK). */
export const BLOCKING: ReadonlySet<string> = new Set(
  'blmove blmpop blpop brpop brpoplpush bzmpop bzpopmax bzpopmin xread xreadgroup wait'.split(' '),
);

type ArgsCheck = (args: readonly string[]) => boolean;

const always: ArgsCheck = () => true;
const without =
  (...options: string[]): ArgsCheck =>
  (args) =>
    !args.some((arg) => options.includes(arg.toLowerCase()));

/** Writes whose repetition leaves the same state, when `check(args)` (arguments after the name) holds. */
export const IDEMPOTENT_WRITES: Readonly<Record<string, ArgsCheck>> = {
  // NX/XX answer differently the second time, GET returns the new value, KEEPTTL keeps the old one.
  set: (args) => without('nx', 'xx', 'get', 'keepttl')(args.slice(2)),
  setex: always,
  psetex: always,
  mset: always,
  del: always,
  unlink: always,
  hset: always,
  hmset: always,
  hdel: always,
  sadd: always,
  srem: always,
  // INCR makes ZADD an increment; NX/XX/GT/LT make the outcome depend on the score already there.
  zadd: without('incr', 'nx', 'xx', 'gt', 'lt'),
  zrem: always,
  pfadd: always,
  setbit: always,
  setrange: always,
  lset: always,
  expire: without('nx', 'xx', 'gt', 'lt'),
  pexpire: without('nx', 'xx', 'gt', 'lt'),
  expireat: without('nx', 'xx', 'gt', 'lt'),
  pexpireat: without('nx', 'xx', 'gt', 'lt'),
  persist: always,
  xack: always,
  flushdb: always,
  flushall: always,
};

/** Commands whose flags live on their subcommands (`CLIENT LIST` is `client|list`). */
const CONTAINERS: ReadonlySet<string> = new Set(
  'acl client cluster command config function latency memory module object pubsub script slowlog xgroup xinfo'.split(
    ' ',
  ),
);

/** The table key of a command: `get`, or `client|list` for a container's subcommand. */
export function commandKey(name: string, args: readonly unknown[]): string {
  const lower = name.toLowerCase();
  if (!CONTAINERS.has(lower)) return lower;
  const sub = args[0];
  return typeof sub === 'string' || Buffer.isBuffer(sub) ? `${lower}|${String(sub).toLowerCase()}` : lower;
}

function asText(args: readonly unknown[]): string[] {
  return args.map((arg) =>
    typeof arg === 'string' ? arg : Buffer.isBuffer(arg) ? arg.toString() : String(arg),
  );
}

/** Whether the command is blocking with these arguments (XREAD blocks only with BLOCK). */
export function isBlocking(name: string, args: readonly unknown[]): boolean {
  const key = name.toLowerCase();
  if (!BLOCKING.has(key)) return false;
  if (key === 'xread' || key === 'xreadgroup')
    return asText(args).some((arg) => arg.toLowerCase() === 'block');
  return true;
}

/** Reads nothing-changing commands: READ_ONLY or SAFE_NON_DATA. */
export function isReadOnly(name: string, args: readonly unknown[]): boolean {
  const key = commandKey(name, args);
  return READ_ONLY.has(key) || SAFE_NON_DATA.has(key);
}

/**
 * Whether sending this command again, after the connection that carried it was lost before its reply,
 * leaves the same state as sending it once. `declared` holds command names the caller declared idempotent.
 */
export function isSafeToResend(
  name: string,
  args: readonly unknown[],
  declared?: ReadonlySet<string>,
): boolean {
  const key = commandKey(name, args);
  if (READ_ONLY.has(key) || SAFE_NON_DATA.has(key)) return true;
  if (declared?.has(key) === true || declared?.has(name.toLowerCase()) === true) return true;
  const check = IDEMPOTENT_WRITES[key];
  return check?.(asText(args)) === true;
}
