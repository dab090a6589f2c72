/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument --
   rendered manifests are untyped YAML data (type Manifest); walking them field by field is the point here */
// TEST HARNESS ONLY — renders the kustomize targets and adapts the base for `podman kube play` (4.3).
// Workarounds, each for a podman limitation, never applied to the manifests users apply:
//  - podman 4.3 cannot consume `kind: Secret` (secretKeyRef fails to parse, secret volumes panic, stringData is
//    dropped): Secrets become ConfigMaps with the decoded values, secret volumes become configMap volumes;
//  - image names get the `localhost/` prefix of the locally built images (podman would otherwise try a registry);
//  - the proxy's port is published on 127.0.0.1 only, via hostPort/hostIP (a cluster would use the Service);
//    podman 4.3 publishes every other containerPort on the host's 0.0.0.0 as well (Kubernetes publishes none), so
//    those entries are dropped, with the probes that name them (podman runs neither probe);
//  - Service, NetworkPolicy and Route are dropped (podman ignores them anyway); ConfigMaps are kept.
import { execFileSync } from 'node:child_process'
import { parseAllDocuments, stringify } from 'yaml'
import { ROOT } from '../../helpers/process.ts'

// Rendered manifests are plain JSON-like data; walking them needs index access on unknown shapes.
export type Manifest = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

export function kustomize (dir: string): Manifest[] {
  const yaml = execFileSync('kubectl', ['kustomize', dir], { cwd: ROOT, encoding: 'utf8' })
  return parseAllDocuments(yaml).map((doc) => doc.toJS() as Manifest | null).filter((m): m is Manifest => m !== null)
}

export function forPodman (manifests: Manifest[], hostPort: number): string {
  const out: Manifest[] = []
  for (const m of manifests) {
    if (m.kind === 'Secret') {
      const data: Record<string, string> = { ...(m.stringData ?? {}) }
      for (const [k, v] of Object.entries<string>(m.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8')
      out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: m.metadata.name }, data })
    } else if (m.kind === 'ConfigMap') {
      out.push(m)
    } else if (m.kind === 'Deployment') {
      const spec = structuredClone(m.spec.template.spec) as Manifest
      for (const v of spec.volumes ?? []) {
        if (v.secret !== undefined) { v.configMap = { name: v.secret.secretName, defaultMode: v.secret.defaultMode }; delete v.secret }
      }
      for (const c of spec.containers) {
        c.image = `localhost/${String(c.image)}`
        c.imagePullPolicy = 'IfNotPresent'
        const ports = (c.ports ?? []) as Manifest[]
        c.ports = ports.filter((p) => p.containerPort === 8081).map((p) => ({ ...p, hostPort, hostIP: '127.0.0.1' }))
        if (c.ports.length === 0) delete c.ports
        delete c.livenessProbe // names a port dropped above; podman would not run it anyway
        delete c.readinessProbe
      }
      out.push({ ...m, spec: { ...m.spec, template: { ...m.spec.template, spec } } })
    }
  }
  return out.map((m) => stringify(m)).join('---\n')
}
