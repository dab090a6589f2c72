// Constant-time string comparison. timingSafeEqual needs equal lengths, and comparing lengths first would
// leak them, so both sides are first reduced to fixed-size HMACs under a per-process random key.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

const KEY = randomBytes(32)

function digest (value: string): Buffer {
  return createHmac('sha256', KEY).update(value, 'utf8').digest()
}

export function constantTimeEqual (a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}
