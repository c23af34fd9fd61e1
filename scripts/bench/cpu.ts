/**
 * CPU time of the processes a benchmark drives, from /proc (Linux; elsewhere
 * nothing is measured): the server under test (its process and its cluster
 * workers) and every PostgreSQL process of the machine. A process that ended
 * between two readings (an autovacuum worker, say) is left out.
 */
import fs from 'node:fs';

export interface CpuTimes {
  server: Map<number, number>; // pid → ms
  postgres: Map<number, number>;
}

/** User + system CPU ms of `serverPid` and its children, and of each postgres process; undefined without /proc. */
export function cpuTimes(serverPid: number | undefined): CpuTimes | undefined {
  if (serverPid === undefined || !fs.existsSync('/proc/self/stat')) return undefined;
  const tick = 10; // ms per clock tick (USER_HZ is 100 on Linux)
  const times: CpuTimes = { server: new Map(), postgres: new Map() };
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) * tick;
    if (name === 'postgres') times.postgres.set(Number(entry), cpu);
    else if (Number(entry) === serverPid || Number(fields[1]) === serverPid) times.server.set(Number(entry), cpu);
  }
  return times;
}

/** CPU ms spent between two readings by the processes alive at the second. */
export function spent(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}
