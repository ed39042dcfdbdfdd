// node-redis's command table: which methods are commands, and the exact arguments a method call sends.
import { createRequire } from 'node:module';

type ParserClass = new () => { redisArgs: unknown[] };
type CommandTable = Record<string, { parseCommand(parser: unknown, ...args: unknown[]): void }>;

/** node-redis's command definitions and parser: the exact arguments a method call sends. */
function loadCommandTable(): { commands: CommandTable; Parser: ParserClass } | undefined {
  try {
    const fromRedis = createRequire(createRequire(import.meta.url).resolve('redis'));
    const commands = (fromRedis('@redis/client/dist/lib/commands') as { default: CommandTable }).default;
    const { BasicCommandParser } = fromRedis('@redis/client/dist/lib/client/parser') as {
      BasicCommandParser: ParserClass;
    };
    return { commands, Parser: BasicCommandParser };
  } catch {
    return undefined;
  }
}

const table = loadCommandTable();

/** Whether `method` is one of node-redis's command methods (`get`, `GET`, `hSet`…). */
export function isCommandMethod(method: string): boolean {
  return method === 'sendCommand' || table?.commands[method] !== undefined;
}

/** The arguments `client[method](...args)` sends (`['SET', 'k', 'v', 'NX']`), or undefined when unknown. */
export function redisArgs(method: string, args: readonly unknown[]): string[] | undefined {
  if (method === 'sendCommand' || method === 'addCommand') {
    // A client's sendCommand(args, options); a cluster's (firstKey, isReadonly, args, …); a sentinel's (isReadonly, args, …).
    const first = args.find((arg) => Array.isArray(arg));
    return Array.isArray(first) ? first.map((arg) => String(arg)) : undefined;
  }
  const command = table?.commands[method];
  if (table === undefined || command === undefined) return undefined;
  try {
    const parser = new table.Parser();
    command.parseCommand(parser, ...args);
    return parser.redisArgs.map((arg) => String(arg));
  } catch {
    return undefined;
  }
}
