#!/usr/bin/env node
// `lifeline <command>`: each command lives in its own module and is loaded only when asked for, so
// `lifeline proxy` never pays for the demo's embedded database and the reverse. The build keeps these
// dynamic imports as separate chunks: `demo` needs pg, an optional peer dependency; `proxy` does not.

import { missingPackage, usageFailure, versionLine } from './args.js';

type Command = { summary: string; load: () => Promise<{ main: (argv: string[]) => Promise<number> }> };

const commands: Record<string, Command> = {
  proxy: {
    summary: 'fault-injection TCP proxy with a Toxiproxy-compatible API (serve, list, toxic add, ...)',
    load: () => import('./proxy.js'),
  },
  demo: {
    summary: 'pg.Pool vs lifeline-net/pg under real faults (other clients: --driver)',
    load: () => import('./demo.js'),
  },
  check: {
    summary: "a server's connections, the settings that cut them, lifeline's options against them (URL)",
    load: () => import('./check.js'),
  },
};

function usage(): string {
  const width = Math.max(0, ...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: lifeline <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `lifeline <command> --help` for a command’s options, `lifeline --version` for the version.',
  ].join('\n');
}

const SYNOPSIS = `Usage: lifeline <${Object.keys(commands).join('|')}> [options]`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(versionLine());
    return 0;
  }
  const command = name === undefined ? undefined : commands[name];
  if (name === undefined || !command) {
    const problem = name === undefined ? 'no command given' : `unknown command '${name}'`;
    console.error(usageFailure('lifeline', problem, SYNOPSIS));
    return 2;
  }
  let module: Awaited<ReturnType<Command['load']>>;
  try {
    module = await command.load();
  } catch (error) {
    const missing = missingPackage(error);
    if (missing === undefined) throw error;
    console.error(
      `lifeline ${name}: needs the package '${missing}', which is not installed: npm install ${missing}`,
    );
    return 1;
  }
  return module.main(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? `lifeline: ${error.message}` : error);
    process.exitCode = 1;
  },
);
