import fs from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { netnsSupport } from '../../src/faults/netns.js';
import { requireCapability } from './services.js';

/**
 * The system tools some tests run, and the Debian package that brings each. `bash scripts/system-deps.sh`
 * (the first step of `npm test`) installs those packages when it runs as root with apt-get; its list must
 * match this one.
 */
const TOOLS = {
  ip: { package: 'iproute2', names: ['ip'] },
  iptables: { package: 'iptables', names: ['iptables'] },
  socat: { package: 'socat', names: ['socat'] },
  pgbouncer: { package: 'pgbouncer', names: ['pgbouncer'] },
  chromium: { package: 'chromium', names: ['chromium', 'chromium-browser'] },
} as const;

export type Tool = keyof typeof TOOLS;

/** Where tools are looked for: PATH, then the sbin directories a non-root PATH often lacks. */
function searchDirs(): string[] {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!dirs.includes(d)) dirs.push(d);
  }
  return dirs;
}

/** The absolute path of `tool`'s executable, or undefined when it is not installed. */
export function toolPath(tool: Tool): string | undefined {
  for (const dir of searchDirs()) {
    for (const name of TOOLS[tool].names) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) return candidate;
      } catch {
        // Not here.
      }
    }
  }
  return undefined;
}

/** Why these tools cannot be used (each missing one, with the package to install), or undefined. */
export function missingTools(tools: readonly Tool[]): string | undefined {
  const missing = tools.filter((tool) => toolPath(tool) === undefined);
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((tool) => TOOLS[tool].package))].join(' ');
  const names = missing.map((tool) => TOOLS[tool].names.join(' or ')).join(', ');
  return (
    `${names} not installed (looked in PATH and the sbin directories): ` +
    `apt-get install ${packages}, or run \`bash scripts/system-deps.sh\` as root`
  );
}

const warned = new Set<string>();

/** Prints the reason once per process, so a skipped file is noticed in a long run. */
function warnLoudly(reason: string): void {
  if (warned.has(reason)) return;
  warned.add(reason);
  console.warn(`\n!!! SKIPPED: ${reason}`);
}

/**
 * For a test's `skip` option: the loud reason when a tool is missing, else false. A missing tool always
 * skips, with CI=true too: it is the machine's setup, not a fault of the code (CI installs the tools).
 */
export function toolSkip(...tools: Tool[]): string | false {
  const reason = missingTools(tools);
  if (reason === undefined) return false;
  warnLoudly(reason);
  return `SKIPPED: ${reason}`;
}

/** Inside a test: skips it loudly when a tool is missing (never fails). Returns true when the test may run. */
export function requireTools(t: TestContext, ...tools: Tool[]): boolean {
  const skip = toolSkip(...tools);
  if (skip === false) return true;
  t.skip(skip);
  return false;
}

/**
 * Inside a test that builds network namespaces: a missing ip, iptables or socat skips it (never fails); a
 * machine that cannot make namespaces (not Linux, not root, no CAP_SYS_ADMIN/CAP_NET_ADMIN) skips it, or
 * fails it under CI=true, as requireCapability does.
 */
export function requireNetns(t: TestContext): boolean {
  return requireTools(t, 'ip', 'iptables', 'socat') && requireCapability(t, netnsSupport());
}
