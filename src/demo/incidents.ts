// The incidents the demo's scenarios replay, in a paragraph each, for the HTML report. The report is one
// self-contained file that a user opens from wherever they ran the demo, and docs/ is not part of the npm
// package, so a link to docs/incidents.md would be dead for most readers: the report carries these
// summaries itself, its "Incident N" labels link to them inside the page, and the section names
// docs/incidents.md (in the lifeline-net source repository) for the full stories. The titles are the
// headings of docs/incidents.md; test/demo/report.test.ts checks they agree.

export interface Incident {
  title: string;
  summary: string;
}

export const INCIDENTS: Readonly<Record<string, Incident>> = {
  '1': {
    title: 'The proxy that closed connections',
    summary:
      'A managed database proxy began closing every client connection after 24 hours. The application ' +
      "checked its driver's is_connected() flag before each query, but that flag only changed when the " +
      'application itself opened or closed a connection, so queries went out on connections the proxy ' +
      'had already closed and failed with end-of-file, in bursts across many services.',
  },
  '2': {
    title: 'The peer that vanished',
    summary:
      'A storage peer (a laptop put to sleep) disappeared without closing its connections. TCP took 15 to ' +
      '30 minutes to notice; meanwhile 102 requests queued up for it, and then all failed at once, each ' +
      'writing an incident report: minutes of CPU and disk spent on one dead peer.',
  },
  '3': {
    title: '"Connection reset by peer" in integration tests',
    summary:
      'A REST client failed with ECONNRESET now and then during a long test suite, on one machine and ' +
      'not another. The team added blind retries and never found the cause; a retry of a request that ' +
      'had already taken effect can apply it twice.',
  },
  '4': {
    title: '"server closed the connection unexpectedly"',
    summary:
      'Production requests to PostgreSQL failed while connecting with that message. Nobody could ' +
      'reproduce it or see what the pools were doing, and the issue expired with its error reports.',
  },
};

/** "1, 4" → ['1', '4']; "—" → []. */
export function incidentNumbers(label: string): string[] {
  return label
    .split(',')
    .map((n) => n.trim())
    .filter((n) => Object.hasOwn(INCIDENTS, n));
}
