// `lifeline proxy`: runs the Toxiproxy-compatible control API (`serve`) and drives one over HTTP, in the
// spirit of toxiproxy-cli. Client commands talk only to the API, so they work against Toxiproxy itself too.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { argsError, parseHostPort, parsePort, UsageError, usageFailure, versionLine } from './args.js';
import { api, apiBase, RefusedError, UnreachableError } from './proxy-api.js';
import { HELP, SYNOPSIS, USAGE } from './proxy-help.js';

/** Exit codes, stable for scripts. */
const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

const DEFAULT_API = process.env.LIFELINE_PROXY_URL ?? process.env.TOXIPROXY_URL ?? 'http://127.0.0.1:8474';

type Proxy = { name: string; listen: string; upstream: string; enabled: boolean; toxics: Toxic[] };
type Toxic = {
  name: string;
  type: string;
  stream: string;
  toxicity: number;
  attributes: Record<string, number | boolean>;
  target?: Record<string, number>;
};

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function describeToxic(t: Toxic): string {
  const attributes = Object.entries(t.attributes).map(([k, v]) => `${k}=${v}`);
  const target = Object.entries(t.target ?? {}).map(([k, v]) => `${k}=${v}`);
  return [
    t.name,
    `${t.type} on ${t.stream}`,
    `toxicity=${t.toxicity}`,
    ...attributes,
    ...(target.length ? [`target: ${target.join(' ')}`] : []),
  ].join('  ');
}

function describeProxy(p: Proxy): string {
  const lines = [`${p.name}: ${p.listen} -> ${p.upstream} (${p.enabled ? 'enabled' : 'disabled'})`];
  if (p.toxics.length === 0) lines.push('  no toxics');
  for (const t of p.toxics) lines.push(`  ${describeToxic(t)}`);
  return lines.join('\n');
}

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

async function serve(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8474' },
    config: { type: 'string' },
    seed: { type: 'string' },
  });
  if (values.help || values.version) {
    console.log(values.help ? HELP.serve : versionLine());
    return EXIT.ok;
  }
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
  const server = new ControlServer({
    host: values.host as string,
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

async function client(command: string, argv: string[]): Promise<number> {
  const toxicOptions = {
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
  } as const;
  const proxyOptions = {
    listen: { type: 'string', short: 'l' },
    upstream: { type: 'string', short: 'u' },
    disabled: { type: 'boolean' },
  } as const;
  const { values, positionals } = parse(
    argv,
    command === 'toxic' ? toxicOptions : command === 'create' ? proxyOptions : {},
  );
  if (values.help || values.version) {
    console.log(values.help ? HELP[command] : versionLine());
    return EXIT.ok;
  }
  const base = apiBase(values.api as string);
  const json = values.json as boolean;
  const print = (data: unknown, text: () => string) =>
    console.log(json ? JSON.stringify(data, null, 2) : text());

  switch (command) {
    case 'list': {
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      const proxies = Object.values((await api(base, 'GET', '/proxies')) as Record<string, Proxy>);
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
    case 'inspect': {
      const proxy = (await api(
        base,
        'GET',
        `/proxies/${encodeURIComponent(oneProxy(positionals, command))}`,
      )) as Proxy;
      print(proxy, () => describeProxy(proxy));
      return EXIT.ok;
    }
    case 'create': {
      const name = oneProxy(positionals, command);
      if (values.upstream === undefined) throw new UsageError('create needs --upstream <host:port>');
      const proxy = (await api(base, 'POST', '/proxies', {
        name,
        upstream: parseHostPort(values.upstream as string, '--upstream'),
        listen: parseHostPort((values.listen as string | undefined) ?? '127.0.0.1:0', '--listen'),
        enabled: values.disabled !== true,
      })) as Proxy;
      print(proxy, () => `created ${describeProxy(proxy)}`);
      return EXIT.ok;
    }
    case 'delete': {
      const name = oneProxy(positionals, command);
      await api(base, 'DELETE', `/proxies/${encodeURIComponent(name)}`);
      print({ deleted: name }, () => `deleted ${name}`);
      return EXIT.ok;
    }
    case 'toggle': {
      const path = `/proxies/${encodeURIComponent(oneProxy(positionals, command))}`;
      const current = (await api(base, 'GET', path)) as Proxy;
      const proxy = (await api(base, 'POST', path, { enabled: !current.enabled })) as Proxy;
      print(proxy, () => `${proxy.name} is now ${proxy.enabled ? 'enabled' : 'disabled'}`);
      return EXIT.ok;
    }
    case 'toxic': {
      const [action, proxyName, ...rest] = positionals;
      if (action === undefined || !['add', 'update', 'remove'].includes(action)) {
        throw new UsageError('toxic needs add, update or remove');
      }
      if (proxyName === undefined) throw new UsageError(`toxic ${action} needs a proxy name`);
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      const path = `/proxies/${encodeURIComponent(proxyName)}/toxics`;
      const name = (values.name ?? values.toxicName) as string | undefined;
      const toxicity = number(values.toxicity as string | undefined, '--toxicity');
      const attrs = attributes(values.attribute as string[] | undefined);
      if (action === 'add') {
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
        const toxic = (await api(base, 'POST', path, {
          type: values.type,
          ...(name === undefined ? {} : { name }),
          ...(stream === undefined ? {} : { stream }),
          ...(toxicity === undefined ? {} : { toxicity }),
          attributes: attrs,
          ...(hasTarget ? { target } : {}),
        })) as Toxic;
        print(toxic, () => `added to ${proxyName}: ${describeToxic(toxic)}`);
        return EXIT.ok;
      }
      if (name === undefined) throw new UsageError(`toxic ${action} needs --name <toxic>`);
      const toxicPath = `${path}/${encodeURIComponent(name)}`;
      if (action === 'remove') {
        await api(base, 'DELETE', toxicPath);
        print({ removed: name }, () => `removed ${name} from ${proxyName}`);
        return EXIT.ok;
      }
      const toxic = (await api(base, 'POST', toxicPath, {
        ...(toxicity === undefined ? {} : { toxicity }),
        attributes: attrs,
      })) as Toxic;
      print(toxic, () => `updated on ${proxyName}: ${describeToxic(toxic)}`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
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
    if (command === 'serve') return await serve(rest);
    if (!(command in HELP)) throw new UsageError(`unknown command "${command}"`);
    return await client(command, rest);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof UsageError) {
      const known = HELP[command];
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
