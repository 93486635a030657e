/**
 * CPU time by process during a bench window, read from /proc (Linux; elsewhere `cpuSnapshot`
 * returns null and the bench prints no breakdown). Used to show where the cores go: a drain's
 * worker processes, PostgreSQL's backends, the receiver, the bench (API node) itself, and how much
 * of the machine stayed idle.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';

export const CORES = availableParallelism();

/** Clock ticks per second of /proc times (USER_HZ; 100 on every Linux this runs on). */
const HZ = 100;

export interface CpuSnapshot {
  at: number;
  /** ms of CPU (user + system) by pid. */
  byPid: Map<number, number>;
  /** ms of system (kernel) CPU by pid: syscalls, the loopback network stack. */
  sysByPid: Map<number, number>;
  /** pids of PostgreSQL server processes. */
  postgres: Set<number>;
  /** Idle ms summed over all cores (/proc/stat). */
  idleMs: number;
}

function pidCpuMs(pid: number): { ms: number; sysMs: number; comm: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces; fields after it are space separated (utime is field 14, stime 15).
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const f = stat.slice(close + 2).split(' ');
    return { ms: ((Number(f[11]) + Number(f[12])) * 1000) / HZ, sysMs: (Number(f[12]) * 1000) / HZ, comm };
  } catch {
    return null; // exited
  }
}

export function cpuSnapshot(): CpuSnapshot | null {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return null;
  }
  const byPid = new Map<number, number>();
  const sysByPid = new Map<number, number>();
  const postgres = new Set<number>();
  for (const pid of pids) {
    const p = pidCpuMs(pid);
    if (!p) continue;
    byPid.set(pid, p.ms);
    sysByPid.set(pid, p.sysMs);
    if (p.comm === 'postgres') postgres.add(pid);
  }
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const idleMs = ((Number(cpu[4]) + Number(cpu[5])) * 1000) / HZ; // idle + iowait
  return { at: performance.now(), byPid, sysByPid, postgres, idleMs };
}

/** CPU ms spent between two snapshots by the given pids (processes started meanwhile count from 0). */
function spent(a: CpuSnapshot, b: CpuSnapshot, pids: Iterable<number>): { ms: number; sysMs: number } {
  let ms = 0;
  let sysMs = 0;
  for (const pid of pids) {
    ms += (b.byPid.get(pid) ?? 0) - (a.byPid.get(pid) ?? 0);
    sysMs += (b.sysByPid.get(pid) ?? 0) - (a.sysByPid.get(pid) ?? 0);
  }
  return { ms, sysMs };
}

/** CPU per delivery over a window: a printable line and the total, µs. */
export interface CpuSplit {
  /** CPU per delivery by process group (kernel part in brackets), µs, and the cores left idle. */
  line: string;
  /** CPU per delivery summed over the groups (PostgreSQL included), µs. */
  totalUs: number;
}

export function cpuSplit(
  a: CpuSnapshot | null,
  b: CpuSnapshot | null,
  deliveries: number,
  groups: Record<string, number[]>,
  /**
   * PostgreSQL backends serving the bench's own connections (see `backendsOf`): when given, they
   * are the PostgreSQL figure, and every other postgres process (other clients on a shared machine,
   * and the server's own background processes) is shown apart and left out of the total.
   */
  ownPostgres?: number[],
): CpuSplit | null {
  if (!a || !b) return null;
  const parts: string[] = [];
  let total = 0;
  const pg = new Set([...a.postgres, ...b.postgres]);
  const us = (x: number) => Math.round((x * 1000) / deliveries);
  for (const [name, pids] of [...Object.entries(groups), ['PostgreSQL', ownPostgres ?? [...pg]] as [string, number[]]]) {
    const { ms, sysMs } = spent(a, b, pids);
    total += ms;
    parts.push(`${name} ${us(ms)} (kernel ${us(sysMs)})`);
  }
  if (ownPostgres) {
    const own = new Set(ownPostgres);
    parts.push(`other postgres processes ${us(spent(a, b, [...pg].filter((p) => !own.has(p))).ms)} (not in the total)`);
  }
  const wall = b.at - a.at;
  const cores = (b.idleMs - a.idleMs) / wall;
  const totalUs = (total * 1000) / deliveries;
  return { line: `CPU per delivery (µs): ${parts.join(', ')}; total ${Math.round(totalUs)}; cores idle ${cores.toFixed(2)} of ${CORES}`, totalUs };
}

/**
 * Local TCP ports of the sockets `pids` hold that are connected to `remotePort` (Linux /proc;
 * empty elsewhere). With PostgreSQL's port, these are the processes' database connections, which
 * pg_stat_activity lists by `client_port`.
 */
export function connectedPorts(pids: number[], remotePort: number): number[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports: number[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[];
    try {
      lines = readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      if (parseInt(f[2].split(':')[1], 16) === remotePort) ports.push(parseInt(f[1].split(':')[1], 16));
    }
  }
  return ports;
}
