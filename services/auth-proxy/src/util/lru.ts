// A Map bounded to `max` entries, least recently used evicted first — the one LRU behind the verify cache and the
// failure throttle. A JavaScript Map keeps insertion order, so re-inserting an entry on use makes it the most
// recent and the first key is always the least recent: no linked list to maintain.

export class Lru<K, V> {
  readonly #entries = new Map<K, V>()
  readonly max: number

  constructor (max: number) { this.max = max }

  get size (): number { return this.#entries.size }

  /** The value, now the most recent; undefined when absent. */
  get (key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined) return undefined
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  /** The value without touching its recency. */
  peek (key: K): V | undefined { return this.#entries.get(key) }

  /** Stores `value` as the most recent entry, evicting the least recent beyond `max`. */
  set (key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    while (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done === true) break
      this.#entries.delete(oldest.value)
    }
  }

  delete (key: K): void { this.#entries.delete(key) }

  /** Every entry, least recent first, without touching recency. */
  entries (): IterableIterator<[K, V]> { return this.#entries.entries() }
}
