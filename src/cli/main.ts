#!/usr/bin/env node
// `lifeline <command>`: each command lives in its own module and is loaded only when asked for, so
// `lifeline proxy` never pays for the demo's embedded database and the reverse.

type Command = { summary: string; run: (argv: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  // Each entry: name: { summary, run: async (argv) => (await import('./x.js')).main(argv) },
  proxy: {
    summary: 'fault-injection TCP proxy with a Toxiproxy-compatible API (serve, list, toxic add, ...)',
    run: async (argv) => (await import('./proxy.js')).main(argv),
  },
  demo: {
    summary: 'pg.Pool vs lifeline/pg under real faults',
    run: async (argv) => (await import('./demo.js')).main(argv),
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
    'Run `lifeline <command> --help` for a command’s options.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`lifeline: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
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
