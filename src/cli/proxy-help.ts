// The texts of `lifeline proxy --help` and of each command's --help. The toxic types and their
// attributes come from the toxic definitions themselves, so the help cannot drift from the code.
import { toxicDefinitions } from '../faults/toxics/index.js';

const CLIENT_OPTIONS = `Options:
  --api <url>   control API (default: $LIFELINE_PROXY_URL, $TOXIPROXY_URL or http://127.0.0.1:8474)
  --token <t>   bearer token for an API started with one (default: $LIFELINE_PROXY_TOKEN; prefer the
                variable: a flag shows in ps)
  --json        print the API's JSON instead of text
  -h, --help    this help`;

export const USAGE = `Usage: lifeline proxy <command> [options]

A fault-injection TCP proxy with Toxiproxy's HTTP API.

Commands:
  serve                      run the control API (127.0.0.1:8474 by default)
  list                       list proxies
  inspect <proxy>            show a proxy and its toxics
  create <proxy>             create a proxy (--listen, --upstream)
  delete <proxy>             delete a proxy
  toggle <proxy>             disable an enabled proxy, enable a disabled one
  toxic add <proxy>          add a toxic (--type, -a key=value ...)
  toxic update <proxy>       change a toxic (--name, --toxicity, -a key=value ...)
  toxic remove <proxy>       remove a toxic (--name)

Exit codes: 0 done, 1 the API refused (its error is printed), 2 bad usage, 3 API unreachable.
Run \`lifeline proxy <command> --help\` for a command's options.`;

export const SYNOPSIS = 'Usage: lifeline proxy <serve|list|inspect|create|delete|toggle|toxic> [options]';

/** One line per toxic type from the definitions themselves, so the help cannot drift from the code. */
function toxicTypes(): string {
  const width = Math.max(...Object.keys(toxicDefinitions).map((t) => t.length));
  return Object.values(toxicDefinitions)
    .map((d) => {
      const attributes = Object.entries(d.schema).map(([name, a]) =>
        a.default === undefined
          ? `${name} (${a.kind === 'number' ? a.unit : 'bool'})`
          : `${name}=${a.default}`,
      );
      return `        ${d.type.padEnd(width)}  ${attributes.join(', ') || '(none)'}: ${d.summary}`;
    })
    .join('\n');
}

export const HELP: Record<string, string> = {
  serve: `Usage: lifeline proxy serve [--host 127.0.0.1] [--port 8474] [--config proxies.json] [--seed N] [--token T] [--allow-remote-listen]

Runs the control API until interrupted (SIGINT/SIGTERM). It binds to loopback unless --host says
otherwise: anyone who can reach it can open proxies to any address (see docs/security.md).
  --host <addr>     interface to bind (default 127.0.0.1)
  --port <n>        port (default 8474, Toxiproxy's; 0 picks a free one)
  --config <file>   proxies to create at start, in Toxiproxy's populate format:
                    [{"name": "pg", "listen": "127.0.0.1:15432", "upstream": "127.0.0.1:5432"}]
  --seed <n>        seed every proxy's random choices (each derives its own from it and its name)
  --token <t>       require "Authorization: Bearer <t>" on every request, else 401
                    (default: $LIFELINE_PROXY_TOKEN; none when unset, as Toxiproxy)
  --allow-remote-listen
                    let API clients create proxies listening off loopback (refused with 403 otherwise)
  -h, --help        this help`,
  list: `Usage: lifeline proxy list [--api url] [--json]\n\nLists proxies: name, listen, upstream, enabled, toxics.\n\n${CLIENT_OPTIONS}`,
  inspect: `Usage: lifeline proxy inspect <proxy> [--api url] [--json]\n\nShows one proxy and its toxics.\n\n${CLIENT_OPTIONS}`,
  create: `Usage: lifeline proxy create <proxy> --upstream <host:port> [--listen <host:port>] [--disabled]

  --listen <host:port>    where clients connect (default 127.0.0.1:0: a free port, shown in the output)
  --upstream <host:port>  the real server
  --disabled              create it disabled (refusing connections)

${CLIENT_OPTIONS}`,
  delete: `Usage: lifeline proxy delete <proxy> [--api url] [--json]\n\nDeletes a proxy and closes its connections.\n\n${CLIENT_OPTIONS}`,
  toggle: `Usage: lifeline proxy toggle <proxy> [--api url] [--json]\n\nDisables an enabled proxy (closing its connections, refusing new ones) or enables a disabled one.\n\n${CLIENT_OPTIONS}`,
  toxic: `Usage: lifeline proxy toxic <add|update|remove> <proxy> [options]

  add <proxy> --type <type> [--name <name>] [--upstream | --downstream | --stream <s>] [--toxicity 0..1]
              [-a key=value ...] [--connection N] [--after-bytes N] [--idle-ms N]
      types and their attributes (-a name=value; "=" marks a default):
${toxicTypes()}
      --connection N    only the Nth connection (1-based)
      --after-bytes N   only the bytes of the stream after the first N
      --idle-ms N       only once data arrives on a connection idle for N ms
  update <proxy> --name <toxic> [--toxicity 0..1] [-a key=value ...]
  remove <proxy> --name <toxic>
  (--toxicName is accepted for --name, as in toxiproxy-cli)

${CLIENT_OPTIONS}`,
};
