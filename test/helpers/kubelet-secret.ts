// The layout the kubelet gives a mounted Secret, and its atomic update (pkg/volume/util/atomic_writer.go):
//   DIR/htpasswd -> ..data/htpasswd,  DIR/..data -> ..2026_11_29_05_00_00.000000001/
// An update writes a new timestamped directory, points a temporary symlink at it and renames that over
// `..data` in one step, then removes the old directory. The file's own path never changes.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export class KubeletSecretVolume {
  readonly dir: string
  #current = ''
  #n = 0

  constructor (dir: string, files: Record<string, string>) {
    this.dir = dir
    this.#current = this.#writeVersion(files)
    symlinkSync(this.#current, join(dir, '..data'))
    for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name))
  }

  #writeVersion (files: Record<string, string>): string {
    const name = `..2026_11_29_05_00_00.${String(++this.#n).padStart(9, '0')}`
    mkdirSync(join(this.dir, name))
    for (const [file, content] of Object.entries(files)) writeFileSync(join(this.dir, name, file), content, { mode: 0o444 })
    return name
  }

  /** The kubelet's update: new version directory, atomic `..data` swap, old directory removed. */
  update (files: Record<string, string>): void {
    const previous = this.#current
    this.#current = this.#writeVersion(files)
    symlinkSync(this.#current, join(this.dir, '..data_tmp'))
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'))
    rmSync(join(this.dir, previous), { recursive: true, force: true })
  }
}
