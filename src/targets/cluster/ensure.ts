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
    this.created++;
    this.log.push(`created ${what}`);
    return made;
  }

  /** A change to an object that exists (a tag, a gateway, a DNS server list). */
  async change(what: string, needed: boolean, act: () => Promise<unknown>): Promise<void> {
    if (!needed) return;
    this.reporter.waiting('cluster', what);
    await act();
    this.changed++;
    this.log.push(what);
  }
}
