// `lifeline proxy`: runs the Toxiproxy-compatible control API (`serve`) and drives one over HTTP, in the
// spirit of toxiproxy-cli. Client commands talk only to the API, so they work against Toxiproxy itself too.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { argsError, parseHostPort, parsePort, UsageError, usageFailure, versionLine } from './args.js';
import { api, apiBase, RefusedError, UnreachableError } from './proxy-api.js';
import { describeProxy, describeToxic, type ProxyInfo, type ToxicInfo, table } from './proxy-format.js';
import { HELP, SYNOPSIS, USAGE } from './proxy-help.js';

/** Exit codes, stable for scripts. */
const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const DEFAULT_API = process.env.LIFELINE_PROXY_URL ?? process.env.TOXIPROXY_URL ?? 'http://127.0.0.1:8474';

/** `-a key=value`: numbers and true/false, as Toxiproxy's attributes are. */
function attributes(pairs: string[] | undefined): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const pair of pairs ?? []) {
    const match = /^([A-Za-z_]\w*)=(.+)$/.exec(pair);
    const value = match?.[2];
    if (!match?.[1] || value === undefined) throw new UsageError(`attribute "${pair}" must be key=value`);
    if (value === 'true' || value === 'false') out[match[1]] = value === 'true';
    else if (Number.isFinite(Number(value))) out[match[1]] = Number(value);
    else throw new UsageError(`attribute ${match[1]} must be a number or true/false, got "${value}"`);
  }
  return out;
}

function integer(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${option} must be a whole number, got "${text}"`);
  return n;
}

function number(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new UsageError(`${option} must be a number, got "${text}"`);
  return n;
}

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

function parse(argv: string[], options: Options): Parsed {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        ...options,
        api: { type: 'string', default: DEFAULT_API },
        // A flag shows in `ps`: the environment variable is the safer way to pass it.
        token: { type: 'string', default: process.env.LIFELINE_PROXY_TOKEN ?? '' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw argsError(error);
  }
}

function oneProxy(positionals: string[], command: string): string {
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError(`${command} needs a proxy name`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return name;
}

/** What a command gets: its parsed arguments, and (for commands that drive an API) where and how to print. */
interface Invocation extends Parsed {
  command: string;
}

/** A client command's link to the API: its base URL, and output as text or (--json) as the API's JSON. */
function client(invocation: Invocation): {
  base: URL;
  print(data: unknown, text: () => string): void;
} {
  const json = invocation.values.json as boolean;
  return {
    base: apiBase(invocation.values.api as string, invocation.values.token as string),
    print: (data, text) => console.log(json ? JSON.stringify(data, null, 2) : text()),
  };
}

interface Command {
  /** The command's own options (--api, --json, --help and --version are every command's). */
  options: Options;
  run(invocation: Invocation): Promise<number>;
}

async function serve({ values }: Invocation): Promise<number> {
  const port = parsePort(values.port as string, '--port', 0);
  const seed = integer(values.seed as string | undefined, '--seed');
  let config: unknown;
  if (values.config !== undefined) {
    try {
      config = JSON.parse(await readFile(values.config as string, 'utf8'));
    } catch (error) {
      console.error(`lifeline proxy: cannot read --config ${values.config}: ${(error as Error).message}`);
      return EXIT.usage;
    }
  }
  const { ControlServer } = await import('../faults/server.js');
  const token = values.token as string;
  const server = new ControlServer({
    host: values.host as string,
    ...(token === '' ? {} : { token }),
    allowRemoteListen: values['allow-remote-listen'] === true,
    ...(port === undefined ? {} : { port }),
    ...(seed === undefined ? {} : { seed }),
  });
  try {
    await server.start();
  } catch (error) {
    console.error(`lifeline proxy: cannot start the control API: ${(error as Error).message}`);
    return EXIT.refused;
  }
  if (config !== undefined) {
    try {
      const proxies = await server.populate(config);
      const count = `${proxies.length} ${proxies.length === 1 ? 'proxy' : 'proxies'}`;
      console.error(`lifeline proxy: created ${count} from ${values.config}`);
      for (const p of proxies) console.error(`  ${p.name}: ${p.listen} -> ${p.upstream}`);
    } catch (error) {
      console.error(`lifeline proxy: --config ${values.config}: ${(error as Error).message}`);
      await server.stop();
      return EXIT.refused;
    }
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  return EXIT.ok;
}

async function list(invocation: Invocation): Promise<number> {
  const { positionals } = invocation;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const { base, print } = client(invocation);
  const proxies = Object.values((await api(base, 'GET', '/proxies')) as Record<string, ProxyInfo>);
  proxies.sort((a, b) => a.name.localeCompare(b.name));
  print(proxies, () =>
    proxies.length === 0
      ? 'no proxies'
      : table([
          ['NAME', 'LISTEN', 'UPSTREAM', 'ENABLED', 'TOXICS'],
          ...proxies.map((p) => [
            p.name,
            p.listen,
            p.upstream,
            p.enabled ? 'yes' : 'no',
            String(p.toxics.length),
          ]),
        ]),
  );
  return EXIT.ok;
}

async function inspect(invocation: Invocation): Promise<number> {
  const name = oneProxy(invocation.positionals, invocation.command);
  const { base, print } = client(invocation);
  const proxy = (await api(base, 'GET', `/proxies/${encodeURIComponent(name)}`)) as ProxyInfo;
  print(proxy, () => describeProxy(proxy));
  return EXIT.ok;
}

async function create(invocation: Invocation): Promise<number> {
  const { values } = invocation;
  const name = oneProxy(invocation.positionals, invocation.command);
  const { base, print } = client(invocation);
  if (values.upstream === undefined) throw new UsageError('create needs --upstream <host:port>');
  const proxy = (await api(base, 'POST', '/proxies', {
    name,
    upstream: parseHostPort(values.upstream as string, '--upstream'),
    listen: parseHostPort((values.listen as string | undefined) ?? '127.0.0.1:0', '--listen'),
    enabled: values.disabled !== true,
  })) as ProxyInfo;
  print(proxy, () => `created ${describeProxy(proxy)}`);
  return EXIT.ok;
}

async function remove(invocation: Invocation): Promise<number> {
  const name = oneProxy(invocation.positionals, invocation.command);
  const { base, print } = client(invocation);
  await api(base, 'DELETE', `/proxies/${encodeURIComponent(name)}`);
  print({ deleted: name }, () => `deleted ${name}`);
  return EXIT.ok;
}

async function toggle(invocation: Invocation): Promise<number> {
  const path = `/proxies/${encodeURIComponent(oneProxy(invocation.positionals, invocation.command))}`;
  const { base, print } = client(invocation);
  const current = (await api(base, 'GET', path)) as ProxyInfo;
  const proxy = (await api(base, 'POST', path, { enabled: !current.enabled })) as ProxyInfo;
  print(proxy, () => `${proxy.name} is now ${proxy.enabled ? 'enabled' : 'disabled'}`);
  return EXIT.ok;
}

/** `toxic add|update|remove <proxy>`: the action and the proxy, and what every action shares. */
async function toxic(invocation: Invocation): Promise<number> {
  const { values, positionals } = invocation;
  const [action, proxyName, ...rest] = positionals;
  if (action === undefined || !Object.hasOwn(TOXIC_ACTIONS, action)) {
    throw new UsageError('toxic needs add, update or remove');
  }
  if (proxyName === undefined) throw new UsageError(`toxic ${action} needs a proxy name`);
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const { base, print } = client(invocation);
  return TOXIC_ACTIONS[action as keyof typeof TOXIC_ACTIONS]({
    values,
    proxyName,
    path: `/proxies/${encodeURIComponent(proxyName)}/toxics`,
    base,
    print,
    name: (values.name ?? values.toxicName) as string | undefined,
    toxicity: number(values.toxicity as string | undefined, '--toxicity'),
    attributes: attributes(values.attribute as string[] | undefined),
  });
}

interface ToxicRequest extends ReturnType<typeof client> {
  values: Parsed['values'];
  proxyName: string;
  /** The proxy's toxics collection in the API. */
  path: string;
  name: string | undefined;
  toxicity: number | undefined;
  attributes: Record<string, number | boolean>;
}

/** The named toxic's path, for update and remove. */
function toxicPath(request: ToxicRequest, action: string): string {
  if (request.name === undefined) throw new UsageError(`toxic ${action} needs --name <toxic>`);
  return `${request.path}/${encodeURIComponent(request.name)}`;
}

const TOXIC_ACTIONS = {
  async add(request: ToxicRequest): Promise<number> {
    const { values, name, toxicity } = request;
    if (values.type === undefined) throw new UsageError('toxic add needs --type');
    if (values.upstream && values.downstream)
      throw new UsageError('give --upstream or --downstream, not both');
    const stream = values.upstream ? 'upstream' : values.downstream ? 'downstream' : values.stream;
    const target = {
      connection: integer(values.connection as string | undefined, '--connection'),
      afterBytes: integer(values['after-bytes'] as string | undefined, '--after-bytes'),
      idleMs: number(values['idle-ms'] as string | undefined, '--idle-ms'),
    };
    const hasTarget = Object.values(target).some((v) => v !== undefined);
    const toxic = (await api(request.base, 'POST', request.path, {
      type: values.type,
      ...(name === undefined ? {} : { name }),
      ...(stream === undefined ? {} : { stream }),
      ...(toxicity === undefined ? {} : { toxicity }),
      attributes: request.attributes,
      ...(hasTarget ? { target } : {}),
    })) as ToxicInfo;
    request.print(toxic, () => `added to ${request.proxyName}: ${describeToxic(toxic)}`);
    return EXIT.ok;
  },
  async update(request: ToxicRequest): Promise<number> {
    const path = toxicPath(request, 'update');
    const { toxicity } = request;
    const toxic = (await api(request.base, 'POST', path, {
      ...(toxicity === undefined ? {} : { toxicity }),
      attributes: request.attributes,
    })) as ToxicInfo;
    request.print(toxic, () => `updated on ${request.proxyName}: ${describeToxic(toxic)}`);
    return EXIT.ok;
  },
  async remove(request: ToxicRequest): Promise<number> {
    const path = toxicPath(request, 'remove');
    await api(request.base, 'DELETE', path);
    request.print({ removed: request.name }, () => `removed ${request.name} from ${request.proxyName}`);
    return EXIT.ok;
  },
};

/** Every `lifeline proxy` command; the help texts (proxy-help.ts) have the same keys. */
const COMMANDS: Record<string, Command> = {
  serve: {
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8474' },
      config: { type: 'string' },
      seed: { type: 'string' },
      'allow-remote-listen': { type: 'boolean', default: false },
    },
    run: serve,
  },
  list: { options: {}, run: list },
  inspect: { options: {}, run: inspect },
  create: {
    options: {
      listen: { type: 'string', short: 'l' },
      upstream: { type: 'string', short: 'u' },
      disabled: { type: 'boolean' },
    },
    run: create,
  },
  delete: { options: {}, run: remove },
  toggle: { options: {}, run: toggle },
  toxic: {
    options: {
      name: { type: 'string', short: 'n' },
      toxicName: { type: 'string' },
      type: { type: 'string', short: 't' },
      stream: { type: 'string', short: 's' },
      upstream: { type: 'boolean' },
      downstream: { type: 'boolean' },
      toxicity: { type: 'string' },
      attribute: { type: 'string', short: 'a', multiple: true },
      connection: { type: 'string' },
      'after-bytes': { type: 'string' },
      'idle-ms': { type: 'string' },
    },
    run: toxic,
  },
};

/** Runs `command`: its arguments parsed with its options, --help and --version answered, then the command. */
async function run(command: string, argv: string[]): Promise<number> {
  const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry === undefined) throw new UsageError(`unknown command "${command}"`);
  const parsed = parse(argv, entry.options);
  if (parsed.values.help || parsed.values.version) {
    console.log(parsed.values.help ? HELP[command] : versionLine());
    return EXIT.ok;
  }
  return entry.run({ ...parsed, command });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    console.error(usageFailure('lifeline proxy', 'no command given', SYNOPSIS));
    return EXIT.usage;
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    console.log(versionLine());
    return EXIT.ok;
  }
  try {
    return await run(command, rest);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof UsageError) {
      const known = Object.hasOwn(HELP, command) ? HELP[command] : undefined;
      console.error(
        known === undefined
          ? usageFailure('lifeline proxy', message, SYNOPSIS)
          : usageFailure(`lifeline proxy ${command}`, message, known.split('\n')[0] ?? SYNOPSIS),
      );
      return EXIT.usage;
    }
    if (error instanceof UnreachableError) {
      console.error(`lifeline proxy ${command}: ${message}`);
      return EXIT.unreachable;
    }
    if (error instanceof RefusedError) {
      console.error(`lifeline proxy ${command}: ${message}`);
      return EXIT.refused;
    }
    throw error;
  }
}
