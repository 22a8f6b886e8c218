/**
 * Find-or-create, the one move of `osk cluster create`: every object is looked up by its name
 * (and tag) first, so a second create changes nothing and an interrupted one continues. What was
 * made and what was already there is counted for the summary and told through the Reporter.
 */
import type { Reporter } from '../../reporter.js';

export class Tally {
  created = 0;
  changed = 0;
  unchanged = 0;
  readonly log: string[] = [];
  /** Ids made in this run: finishing them (a tag) is part of making them, not a change. */
  private readonly fresh = new Set<string>();
  constructor(private readonly reporter: Reporter) {}

  /** The object `find` returns, or the one `create` makes. */
  async ensure<T>(what: string, find: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
    const found = await find();
    if (found !== undefined) {
      this.unchanged++;
      return found;
    }
    this.reporter.waiting('cluster', `creating ${what}`);
    const made = await create();
    const id = (made as { id?: unknown } | undefined)?.id;
    if (typeof id === 'string') this.fresh.add(id);
    this.created++;
    this.log.push(`created ${what}`);
    return made;
  }

  /** A change to an object (a tag, a gateway, a DNS server list); of object `id` when it names one. */
  async change(what: string, needed: boolean, act: () => Promise<unknown>, id?: string): Promise<void> {
    if (!needed) return;
    this.reporter.waiting('cluster', what);
    await act();
    if (id !== undefined && this.fresh.has(id)) return;
    this.changed++;
    this.log.push(what);
  }
}
