/**
 * A PostgreSQL LISTEN on a connection of its own, reconnected after it
 * drops: `onNotify` for each notification, `onDown` when the connection is
 * lost (nothing is delivered until `onUp` again). Owns the connection only;
 * what a notification means is the listener's business.
 */
import { Client } from 'pg';

export interface ChannelHandlers {
  onNotify: (payload: string | undefined) => void;
  onUp: () => void;
  onDown: () => void;
}

export class ChannelListener {
  private client: Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly channel: string,
    private readonly handlers: ChannelHandlers,
    private readonly reconnectMs = 1_000,
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`invalid channel name ${channel}`);
  }

  /** Connects; resolves once it listens (or failed: it then retries). */
  async start(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionString: this.databaseUrl, application_name: `carnet-${this.channel}` });
    const down = () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.handlers.onDown();
      client.end().catch(() => {});
      if (!this.closed) this.retry = setTimeout(() => void this.start(), this.reconnectMs);
    };
    client.on('error', down);
    client.on('end', down);
    client.on('notification', (message) => this.handlers.onNotify(message.payload));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.handlers.onUp();
    } catch {
      down();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.handlers.onDown();
    if (client) await client.end().catch(() => {});
  }
}
