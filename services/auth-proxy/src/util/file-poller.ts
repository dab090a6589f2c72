// What identifies one version of a file, for the pollers that reload credentials and certificates.
// stat() follows symlinks, so Kubernetes' atomic swap of a Secret volume's `..data` link changes the inode
// even though the path stays the same; size and times catch in-place rewrites.
import { stat } from 'node:fs/promises'

export async function fileFingerprint (path: string): Promise<string> {
  try {
    const s = await stat(path)
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? ''}`
  }
}
