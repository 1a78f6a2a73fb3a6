/**
 * Walks a collection a share at a time, for safety nets that should look at everything within n
 * steps instead of at everything every time: each `step` visits the next `max` items, going on where
 * the last step stopped and from the start again at the end, and ends when it comes back round (so
 * with `max` no more than the collection's size, each item at most once per step). `round` gives a
 * fresh iterator for each pass; a Map's iterator goes on after changes to its Map (items added
 * meanwhile are reached, items removed are skipped).
 */
export class ResumableSweep<T> {
  private cursor?: Iterator<T>;

  constructor(private readonly round: () => Iterator<T>) {}

  step(max: number, visit: (item: T) => void): void {
    let left = max;
    for (let ends = 0; left > 0 && ends < 2; ) {
      this.cursor ??= this.round();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        ends++;
        continue;
      }
      left--;
      visit(next.value);
    }
  }
}
