/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   rendered manifests are untyped YAML data (type Manifest); walking them field by field is the point here */
// The manifests users apply, checked with no cluster: rendered by kustomize, validated strictly against the
// Kubernetes/OpenShift schemas, and held to the restricted Pod Security Standard and this project's promises.
import { readFileSync, existsSync } from 'node:fs'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { validateObject } from '../helpers/k8s-schema.ts'
import { ROOT } from '../helpers/process.ts'
import { kustomize, type Manifest } from '../e2e/harness/kube.ts'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'

const base = kustomize('k8s/base')
const openshift = kustomize('k8s/openshift')
const reencrypt = kustomize('k8s/openshift-reencrypt')
const ldap = kustomize('k8s/openshift-ldap')
const oidc = kustomize('k8s/openshift-oidc')
const trustedIngress = kustomize('k8s/examples/trusted-ingress')
const demoEntry = readFileSync(`${ROOT}demo/htpasswd`, 'utf8').split('\n').find((l) => l.startsWith('admin:'))

function only (manifests: Manifest[], kind: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind)
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`)
  return found[0] as Manifest
}

t.test('kustomize renders both targets', async (t) => {
  t.same(base.map((m) => m.kind).sort(), ['Deployment', 'NetworkPolicy', 'Secret', 'Service'])
  t.same(openshift.map((m) => m.kind).sort(), ['BuildConfig', 'BuildConfig', 'Deployment', 'ImageStream', 'ImageStream', 'NetworkPolicy', 'Route', 'Secret', 'Service'])
})

t.test('every object validates strictly against its schema (unknown fields rejected)', async (t) => {
  for (const m of [...base, ...openshift, ...reencrypt, ...ldap, ...oidc, ...trustedIngress]) t.same(validateObject(m), [], `${String(m.kind)} ${String(m.metadata?.name)}`)
})

t.test('the validator can fail: the tutorial\'s DeploymentConfig-only fields are rejected', async (t) => {
  const tutorial = parse(readFileSync(`${ROOT}test/fixtures/tutorial-deployment.yaml`, 'utf8')) as Manifest
  const errors = validateObject(tutorial)
  t.ok(errors.some((e) => /\.spec\.strategy\.rollingParams: unknown field/.test(e)), 'rollingParams')
  t.ok(errors.some((e) => /\.spec\.test: unknown field/.test(e)), 'test')
  const missing = structuredClone(tutorial)
  delete missing.spec.strategy.rollingParams
  delete missing.spec.test
  delete missing.spec.selector
  t.ok(validateObject(missing).some((e) => /selector/.test(e)), 'a missing required field is reported')
  t.ok(validateObject({ ...missing, spec: { ...missing.spec, replicas: 'one' } }).length > 0, 'a wrong type is reported')
})

for (const [name, manifests] of [['base', base], ['openshift', openshift], ['openshift-reencrypt', reencrypt], ['openshift-ldap', ldap], ['openshift-oidc', oidc]] as const) {
  t.test(`${name}: the Pod meets the restricted Pod Security Standard and OpenShift restricted-v2`, async (t) => {
    const pod = only(manifests, 'Deployment').spec.template.spec as Manifest
    t.equal(pod.securityContext?.runAsNonRoot, true, 'runAsNonRoot')
    t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', 'seccomp RuntimeDefault')
    t.equal(pod.securityContext?.runAsUser, undefined, 'no fixed runAsUser (OpenShift assigns one)')
    for (const key of ['hostNetwork', 'hostPID', 'hostIPC']) t.notOk(pod[key], key)
    t.notOk((pod.volumes as Manifest[]).some((v) => v.hostPath !== undefined), 'no hostPath volumes')
    t.equal(pod.automountServiceAccountToken, false, 'no API token in the Pod')
    for (const c of pod.containers as Manifest[]) {
      const sc = c.securityContext as Manifest
      t.equal(sc.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`)
      t.same(sc.capabilities?.drop, ['ALL'], `${c.name}: drop ALL`)
      t.equal(sc.capabilities?.add, undefined, `${c.name}: add nothing`)
      t.equal(sc.readOnlyRootFilesystem, true, `${c.name}: read-only root`)
      t.notOk(sc.privileged, `${c.name}: not privileged`)
      t.equal(sc.runAsUser, undefined, `${c.name}: no fixed runAsUser`)
      t.ok(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory, `${c.name}: requests and limits`)
      t.ok((c.volumeMounts as Manifest[]).some((m) => m.mountPath === '/tmp'), `${c.name}: writable /tmp`)
      t.notOk((c.ports as Manifest[] | undefined)?.some((p) => p.hostPort !== undefined), `${c.name}: no hostPort`)
    }
  })

  t.test(`${name}: the app binds 127.0.0.1 and only the proxy is exposed`, async (t) => {
    const pod = only(manifests, 'Deployment').spec.template.spec as Manifest
    const hello = (pod.containers as Manifest[]).find((c) => c.name === 'hello') as Manifest
    t.equal((hello.env as Manifest[]).find((e) => e.name === 'HOST')?.value, '127.0.0.1')
    t.equal(hello.ports, undefined, 'the app declares no container port')
    const proxy = (pod.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
    t.equal((proxy.env as Manifest[]).find((e) => e.name === 'UPSTREAM_URL')?.value, 'http://127.0.0.1:8080')
    t.same(proxy.readinessProbe?.httpGet, { path: '/readyz', port: 'management' })
    t.same(proxy.livenessProbe?.httpGet, { path: '/healthz', port: 'management' })
    t.same((proxy.ports as Manifest[]).map((p) => [p.name, p.containerPort]), [['http', 8081], ['management', 9091]])

    const service = only(manifests, 'Service')
    t.same((service.spec.ports as Manifest[]).map((p) => [p.port, p.targetPort]), [[8081, 'http']], 'Service exposes 8081 only')
    const policy = only(manifests, 'NetworkPolicy')
    t.same(policy.spec.policyTypes, ['Ingress'])
    const ports = (policy.spec.ingress as Manifest[]).flatMap((rule) => (rule.ports as Manifest[]).map((p) => p.port)).sort()
    t.same(ports, [8081, 9091], 'NetworkPolicy admits only 8081 and 9091')
  })

  if (name !== 'openshift-ldap' && name !== 'openshift-oidc') t.test(`${name}: the only Secret value is the marked demo htpasswd, mounted as a directory`, async (t) => {
    const secret = only(manifests, 'Secret')
    t.equal(secret.metadata.annotations?.['auth-proxy-sidecar/demo-credentials'], 'true')
    t.same(Object.keys(secret.stringData ?? {}), ['htpasswd'])
    t.equal(secret.data, undefined)
    t.ok(demoEntry !== undefined)
    t.equal((secret.stringData.htpasswd as string).trim(), demoEntry, 'identical to demo/htpasswd')
    const pod = only(manifests, 'Deployment').spec.template.spec as Manifest
    const proxy = (pod.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
    const mount = (proxy.volumeMounts as Manifest[]).find((m) => m.name === 'htpasswd') as Manifest
    t.equal(mount.subPath, undefined, 'no subPath: Secret updates reach the file')
    t.equal((proxy.env as Manifest[]).find((e) => e.name === 'HTPASSWD_FILE')?.value, `${String(mount.mountPath)}/htpasswd`)
    t.notOk(JSON.stringify(pod).includes('admin1041'), 'no plaintext password in the Pod spec')
  })
}

t.test('openshift: edge Route redirecting HTTP, in-cluster builds from the repository\'s Dockerfiles', async (t) => {
  const route = only(openshift, 'Route')
  t.same(route.spec.to, { kind: 'Service', name: 'hello', weight: 100 })
  t.same(route.spec.port, { targetPort: 'http' })
  t.same(route.spec.tls, { termination: 'edge', insecureEdgeTerminationPolicy: 'Redirect' })
  const builds = openshift.filter((m) => m.kind === 'BuildConfig')
  for (const b of builds) {
    t.equal(b.spec.source.type, 'Binary')
    t.ok(existsSync(`${ROOT}${String(b.spec.strategy.dockerStrategy.dockerfilePath)}`), `${String(b.spec.strategy.dockerStrategy.dockerfilePath)} exists`)
    t.equal(b.spec.output.to.kind, 'ImageStreamTag')
  }
  const streams = openshift.filter((m) => m.kind === 'ImageStream')
  t.ok(streams.every((s) => s.spec.lookupPolicy.local === true), 'Deployments may refer to the streams by name')
  const images = (only(openshift, 'Deployment').spec.template.spec.containers as Manifest[]).map((c) => c.image)
  t.same(images.sort(), ['auth-proxy:latest', 'hello:latest'])
  t.same(builds.map((b) => b.spec.output.to.name).sort(), images.sort(), 'each image is built in-cluster')
  const triggers = JSON.parse(only(openshift, 'Deployment').metadata.annotations['image.openshift.io/triggers']) as Manifest[]
  t.same(triggers.map((x) => x.from.name).sort(), images.sort(), 'a new build of either image rolls the Pod out')
})

t.test('openshift-reencrypt: HTTPS to the Pod with a rotated service-serving certificate', async (t) => {
  t.same(reencrypt.map((m) => m.kind).sort(), openshift.map((m) => m.kind).sort(), 'same objects as openshift')
  t.equal(only(reencrypt, 'Service').metadata.annotations['service.beta.openshift.io/serving-cert-secret-name'], 'hello-tls')
  t.same(only(reencrypt, 'Route').spec.tls, { termination: 'reencrypt', insecureEdgeTerminationPolicy: 'Redirect' })
  const pod = only(reencrypt, 'Deployment').spec.template.spec as Manifest
  const proxy = (pod.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
  const env = Object.fromEntries((proxy.env as Manifest[]).map((e) => [e.name, e.value]))
  t.equal(env.TLS_CERT_FILE, '/etc/auth-proxy-tls/tls.crt')
  t.equal(env.TLS_KEY_FILE, '/etc/auth-proxy-tls/tls.key')
  const volume = (pod.volumes as Manifest[]).find((v) => v.name === 'tls') as Manifest
  t.equal(volume.secret.secretName, 'hello-tls')
  t.equal((proxy.volumeMounts as Manifest[]).find((m) => m.name === 'tls')?.subPath, undefined, 'directory mount: rotation reaches the file')
})

t.test('docker-compose.yml: one network namespace, credentials from a file, nothing baked in', async (t) => {
  const compose = parseAllDocuments(readFileSync(`${ROOT}docker-compose.yml`, 'utf8'))[0]?.toJS() as Manifest
  const proxy = compose.services['auth-proxy'] as Manifest
  const hello = compose.services.hello as Manifest
  t.equal(proxy.network_mode, 'service:hello')
  t.same(hello.ports, ['${AUTH_PROXY_PUBLISH:-8081}:8081'], 'only the proxy port is published')
  t.equal(proxy.environment.HTPASSWD_FILE, '/run/secrets/htpasswd')
  t.same(compose.secrets, { htpasswd: { file: './demo/htpasswd' } })
  t.notOk(JSON.stringify(compose).includes('admin1041'), 'no plaintext password')
  for (const s of [proxy, hello]) {
    t.equal(s.read_only, true)
    t.same(s.cap_drop, ['ALL'])
    t.ok(s.healthcheck?.test, 'healthcheck')
  }
})

/** The auth-proxy container's env as the proxy would read it (literal values only). */
function proxyEnv (manifests: Manifest[]): Record<string, string> {
  const pod = only(manifests, 'Deployment').spec.template.spec as Manifest
  const proxy = (pod.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
  return Object.fromEntries((proxy.env as Manifest[]).map((e) => [e.name, e.value]))
}

t.test('every target\'s auth-proxy settings pass the proxy\'s own configuration check', async (t) => {
  for (const [name, manifests] of [['base', base], ['openshift', openshift], ['openshift-reencrypt', reencrypt], ['openshift-ldap', ldap], ['openshift-oidc', oidc]] as const) {
    t.doesNotThrow(() => loadConfig(proxyEnv(manifests)), name)
  }
})

t.test('openshift-ldap: LDAP only, bind password from a Secret file, no demo htpasswd left', async (t) => {
  const config = loadConfig(proxyEnv(ldap))
  t.same(config.auth.backends, ['ldap'])
  t.equal(config.auth.htpasswdFile, undefined)
  t.match(config.auth.ldap, { urls: ['ldaps://ldap.example.org'], bindPasswordFile: '/etc/auth-proxy-ldap/bind-password', requiredGroups: [/^cn=/] })
  t.equal(config.auth.ldap?.bindPassword, undefined, 'no password in the manifest')
  t.notOk(ldap.some((m) => m.kind === 'Secret'), 'no Secret rendered: the bind password is created out of band')
  const pod = only(ldap, 'Deployment').spec.template.spec as Manifest
  const proxy = (pod.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
  const mount = (proxy.volumeMounts as Manifest[]).find((m) => m.mountPath === '/etc/auth-proxy-ldap')
  const volume = (pod.volumes as Manifest[]).find((v) => v.name === mount?.name)
  t.equal(volume?.secret?.secretName, 'hello-ldap-bind')
  t.same((proxy.volumeMounts as Manifest[]).map((m) => m.mountPath).sort(), ['/etc/auth-proxy-ldap', '/tmp'], 'htpasswd mount removed, /tmp kept')
  t.notOk((pod.volumes as Manifest[]).some((v) => v.secret?.secretName === 'hello-htpasswd'))
})

t.test('openshift-oidc: OpenID Connect only, secrets from a Secret file, Secure cookies behind the edge Route', async (t) => {
  const config = loadConfig(proxyEnv(oidc))
  t.same(config.auth.backends, ['oidc'])
  t.match(config.auth.oidc, { clientId: 'hello', clientSecretFile: '/etc/auth-proxy-oidc/client-secret', redirectUrl: /^https:\/\/.*\/_auth\/callback$/ })
  t.equal(config.auth.oidc?.clientSecret, undefined, 'no client secret in the manifest')
  t.same(config.auth.session?.secrets, [{ file: '/etc/auth-proxy-oidc/session-secret', variable: 'SESSION_SECRET_FILE' }])
  t.equal(config.auth.session?.cookieSecure, 'true')
  t.notOk(oidc.some((m) => m.kind === 'Secret'))
  const pod = only(oidc, 'Deployment').spec.template.spec as Manifest
  t.ok((pod.volumes as Manifest[]).some((v) => v.secret?.secretName === 'hello-oidc'))
  t.notOk((pod.volumes as Manifest[]).some((v) => v.secret?.secretName === 'hello-htpasswd'))
})
