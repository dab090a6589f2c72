/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return --
   rendered manifests are untyped YAML data (type Manifest); walking them field by field is the point here */
// The sidecar component on the apps users already have (k8s/examples/*): each example rendered and validated
// strictly; the app's own container exactly as the user wrote it; the proxy container added with its probes,
// mounts and a restricted security context; the Service led to the proxy; only the proxy's ports open; and the
// proxy's settings from the rendered ConfigMap passing the proxy's own configuration check.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'
import { kustomize, type Manifest } from '../e2e/harness/kube.ts'
import { validateObject } from '../helpers/k8s-schema.ts'
import { ROOT } from '../helpers/process.ts'

const EXAMPLES = { flask: 8080, jupyter: 8888, shiny: 3838 } as const

for (const [name, appPort] of Object.entries(EXAMPLES)) {
  t.test(`k8s/examples/${name}: the sidecar added to the app as it was`, async (t) => {
    const rendered = kustomize(`k8s/examples/${name}`)
    for (const m of rendered) t.same(validateObject(m), [], `${String(m.kind)} ${String(m.metadata?.name)} validates strictly`)
    const original = parseAllDocuments(readFileSync(`${ROOT}k8s/examples/${name}/app.yaml`, 'utf8')).map((d) => d.toJS() as Manifest)
    const originalPod = original.find((m) => m.kind === 'Deployment')?.spec.template.spec as Manifest
    const deployment = rendered.find((m) => m.kind === 'Deployment') as Manifest
    const pod = deployment.spec.template.spec as Manifest
    const containers = pod.containers as Manifest[]

    for (const c of originalPod.containers as Manifest[]) t.same(containers.find((x) => x.name === c.name), c, `the app's container ${String(c.name)} is untouched`)
    const proxy = containers.find((c) => c.name === 'auth-proxy') as Manifest
    t.ok(proxy, 'the proxy container is added')
    t.same(proxy.readinessProbe?.httpGet, { path: '/readyz', port: 'auth-proxy-mgmt' })
    t.same(proxy.livenessProbe?.httpGet, { path: '/healthz', port: 'auth-proxy-mgmt' })
    t.same((proxy.ports as Manifest[]).map((p) => p.containerPort), [8081, 9091])
    const sc = proxy.securityContext as Manifest
    t.match(sc, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } }, 'restricted Pod Security Standard for the sidecar')
    const mount = (proxy.volumeMounts as Manifest[]).find((m) => m.mountPath === '/etc/auth-proxy')
    t.equal((pod.volumes as Manifest[]).find((v) => v.name === mount?.name)?.secret?.secretName, 'auth-proxy-htpasswd', 'credentials from the Secret, as a directory mount')
    t.equal(deployment.spec.template.metadata.labels['auth-proxy-sidecar/protected'], 'true')

    const service = rendered.find((m) => m.kind === 'Service') as Manifest
    t.equal(service.spec.ports[0].targetPort, 8081, 'the Service leads to the proxy')
    const policy = rendered.find((m) => m.kind === 'NetworkPolicy') as Manifest
    t.same(policy.spec.podSelector.matchLabels, { 'auth-proxy-sidecar/protected': 'true' })
    const open = (policy.spec.ingress as Manifest[]).flatMap((r) => (r.ports as Manifest[]).map((p) => p.port))
    t.same(open.sort(), [8081, 9091], `only the proxy's ports: the app's ${appPort} is closed to other Pods`)

    const configMap = rendered.find((m) => m.kind === 'ConfigMap' && String(m.metadata.name).startsWith('auth-proxy-sidecar')) as Manifest
    t.equal(proxy.envFrom[0].configMapRef.name, configMap.metadata.name, 'the settings ConfigMap (hash-suffixed) is the one referenced')
    const env = { ...configMap.data, ...Object.fromEntries((proxy.env as Manifest[]).map((e) => [e.name, e.value])) }
    t.equal(env.UPSTREAM_URL, `http://127.0.0.1:${appPort}`, 'the app\'s own port on the Pod\'s loopback')
    const config = loadConfig(env)
    t.equal(config.upstream.url, `http://127.0.0.1:${appPort}`, 'and the proxy\'s own configuration check accepts it')
    t.equal(config.auth.htpasswdFile, '/etc/auth-proxy/htpasswd')
    const secret = rendered.find((m) => m.kind === 'Secret') as Manifest
    t.equal(secret.metadata.annotations['auth-proxy-sidecar/demo-credentials'], 'true', 'the demo credentials, marked as such')
  })
}

t.test('k8s/examples/jupyter-openshift: the same Pod on OpenShift — proxy built in the cluster, Route to the proxy', async (t) => {
  const rendered = kustomize('k8s/examples/jupyter-openshift')
  for (const m of rendered) t.same(validateObject(m), [], `${String(m.kind)} ${String(m.metadata?.name)} validates strictly`)
  const plain = kustomize('k8s/examples/jupyter')
  const pod = (m: Manifest[]): Manifest => (m.find((x) => x.kind === 'Deployment') as Manifest).spec.template.spec
  const notebook = (m: Manifest[]): Manifest => (pod(m).containers as Manifest[]).find((c) => c.name === 'notebook') as Manifest
  t.same(notebook(rendered), notebook(plain), 'the notebook container is the same as on plain Kubernetes')
  const proxy = (pod(rendered).containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
  t.equal(proxy.image, 'auth-proxy:latest', 'the ImageStream\'s image (lookupPolicy.local)')
  const deployment = rendered.find((m) => m.kind === 'Deployment') as Manifest
  const triggers = JSON.parse(deployment.metadata.annotations['image.openshift.io/triggers']) as Manifest[]
  t.same(triggers.map((x) => x.from.name), ['auth-proxy:latest'], 'a new proxy build rolls the Pod out')
  const build = rendered.find((m) => m.kind === 'BuildConfig') as Manifest
  t.equal(build.spec.strategy.dockerStrategy.dockerfilePath, 'services/auth-proxy/Dockerfile')
  t.equal(build.spec.output.to.name, 'auth-proxy:latest')
  t.ok(rendered.some((m) => m.kind === 'ImageStream' && m.metadata.name === 'auth-proxy' && m.spec.lookupPolicy.local === true))
  const route = rendered.find((m) => m.kind === 'Route') as Manifest
  t.equal(route.spec.port.targetPort, 8081, 'the user\'s Route (it said 8888) now leads to the proxy')
  t.equal(route.spec.tls.termination, 'edge')
  // Router-only admission and TRUST_PROXY are proven for this target in test/k8s/trust.test.ts.
  t.equal(rendered.filter((m) => m.kind === 'NetworkPolicy').length, 1, 'one policy, narrowed to the router')
})

t.test('the component without a label leaves a Deployment alone', async (t) => {
  const rendered = kustomize('k8s/examples/flask')
  t.equal(rendered.filter((m) => m.kind === 'Deployment').length, 1)
  // The label selects; base/ (no label, no component) renders without any sidecar.
  const base = kustomize('k8s/base')
  t.notOk((base.find((m) => m.kind === 'Deployment')?.metadata.labels ?? {})['auth-proxy-sidecar/protect'])
})
