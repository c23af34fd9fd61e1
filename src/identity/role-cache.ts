/**
 * A practitioner's PractitionerRoles cached across requests (the grid
 * mapping is then computed from them per request, so a role's `period`
 * still ends on time), dropped whenever any PractitionerRole is written —
 * in this process or in another one behind the same load balancer:
 * - every PractitionerRole write empties this process's cache and sends
 *   `NOTIFY carnet_practitioner_roles` inside its transaction (`notifier`, a
 *   ResourceIndexer), which PostgreSQL delivers at commit;
 * - every process LISTENs on a connection of its own and empties its cache on
 *   each notification. While that connection is down nothing is cached: every
 *   request reads the database, as without a cache.
 * A lookup that raced a change is not cached (an epoch counter), and entries
 * expire after `ttlMs` whatever happens. Another process sees a change once
 * PostgreSQL has delivered the notification (milliseconds after the commit).
 */
import type { PractitionerRole } from 'fhir/r4';
import { ChannelListener } from '../store/listener';
import type { Executor } from '../store/executor';
import type { ResourceIndexer, StoredResource } from '../store/resources';
import type { CallerLookup } from './resolve';

export const ROLE_CHANNEL = 'carnet_practitioner_roles';

export interface RoleCacheOptions {
  ttlMs?: number;
  /** Most practitioners kept (oldest dropped first). */
  maxEntries?: number;
  /** Delay before reconnecting the listener after it dropped. */
  reconnectMs?: number;
  now?: () => number;
}

export class RoleCache {
  private readonly entries = new Map<string, { roles: PractitionerRole[]; until: number }>();
  private epoch = 0;
  private listening = false;
  private readonly listener: ChannelListener;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  /** For the store: every PractitionerRole write empties the cache here and notifies the other processes at commit. */
  readonly notifier: ResourceIndexer = {
    newRowCtes: (row: StoredResource) => (row.resourceType === 'PractitionerRole' ? undefined : []),
    index: async (sql: Executor, row: StoredResource): Promise<void> => {
      if (row.resourceType !== 'PractitionerRole') return;
      this.invalidate();
      await sql.query('SELECT pg_notify(?, ?)', [ROLE_CHANNEL, `PractitionerRole/${row.id}`]);
    },
  };

  constructor(databaseUrl: string, options: RoleCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    this.listener = new ChannelListener(databaseUrl, ROLE_CHANNEL, {
      onNotify: () => this.invalidate(),
      onUp: () => {
        this.invalidate(); // whatever changed while nobody listened
        this.listening = true;
      },
      onDown: () => {
        this.listening = false;
        this.invalidate();
      },
    }, options.reconnectMs ?? 1_000);
  }

  /** Connects the listener; resolves once it listens (or failed: the cache then stays off and retries). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** True while notifications can reach this process (only then is anything cached). */
  get active(): boolean {
    return this.listening;
  }

  /** `lookup` with activeRoles served from the cache. */
  wrap(lookup: CallerLookup): CallerLookup {
    return { ...lookup, activeRoles: (practitionerId) => this.activeRoles(practitionerId, lookup) };
  }

  private async activeRoles(practitionerId: string, lookup: CallerLookup): Promise<PractitionerRole[]> {
    const cached = this.entries.get(practitionerId);
    if (cached && this.listening && cached.until > this.now()) return cached.roles;
    const epoch = this.epoch;
    const roles = await lookup.activeRoles(practitionerId);
    if (this.listening && epoch === this.epoch) {
      this.entries.delete(practitionerId);
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(practitionerId, { roles, until: this.now() + this.ttlMs });
    }
    return roles;
  }

  private invalidate(): void {
    this.epoch++;
    this.entries.clear();
  }

  private async connect(): Promise<void> {
    await this.listener.start();
  }

  async close(): Promise<void> {
    await this.listener.close();
  }
}
