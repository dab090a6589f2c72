/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument --
   rendered manifests are untyped YAML data (type Manifest); walking them field by field is the point here */
// The Redis overlay (k8s/components/redis with the example Redis, k8s/examples/forward-auth-redis), rendered and
// validated strictly: every proxy replica pointed at the Redis Service, its password from the Secret as a file
// (never in the URL), the proxy's own configuration check passing, and Redis reachable only from Pods running the proxy.
import t from 'tap'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'
import { kustomize, type Manifest } from '../e2e/harness/kube.ts'
import { validateObject } from '../helpers/k8s-schema.ts'

t.test('k8s/examples/forward-auth-redis: the forward-auth replicas share the example Redis', async (t) => {
  const rendered = kustomize('k8s/examples/forward-auth-redis')
  for (const m of rendered) t.same(validateObject(m), [], `${String(m.kind)} ${String(m.metadata?.name)} validates strictly`)
  const proxy = rendered.find((m) => m.kind === 'Deployment' && m.metadata.name === 'auth-proxy') as Manifest
  t.ok(proxy.spec.replicas >= 2, 'replicas: what the shared state is for')
  const pod = proxy.spec.template.spec as Manifest
  const container = (pod.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
  const env = Object.fromEntries((container.env as Manifest[]).map((e) => [e.name, e.value]))
  const config = loadConfig(env)
  t.match(config.shared, { url: 'redis://auth-proxy-redis:6379', password: { file: '/etc/auth-proxy-redis/password', variable: 'REDIS_PASSWORD_FILE' } }, 'the proxy\'s configuration check accepts it')
  const mount = (container.volumeMounts as Manifest[]).find((m) => m.mountPath === '/etc/auth-proxy-redis')
  t.equal((pod.volumes as Manifest[]).find((v) => v.name === mount?.name)?.secret?.secretName, 'auth-proxy-redis', 'the password from the Secret, as a file')
  t.notMatch(env.REDIS_URL, /@/, 'no credentials in the URL')

  const redis = rendered.find((m) => m.kind === 'StatefulSet') as Manifest
  const service = rendered.find((m) => m.kind === 'Service' && m.metadata.name === 'auth-proxy-redis') as Manifest
  t.equal(new URL(env.REDIS_URL).hostname, service.metadata.name)
  t.same(service.spec.selector, redis.spec.selector.matchLabels, 'the Service selects the Redis')
  const redisContainer = redis.spec.template.spec.containers[0] as Manifest
  const script = String(redisContainer.args[0])
  const secretVolume = (redis.spec.template.spec.volumes as Manifest[]).find((v) => v.secret?.secretName === 'auth-proxy-redis')
  const secretMount = (redisContainer.volumeMounts as Manifest[]).find((m) => m.name === secretVolume?.name)
  t.ok(secretVolume !== undefined && secretMount !== undefined, 'Redis mounts the same Secret')
  t.match(script, new RegExp(`requirepass \\$\\$\\(cat ${String(secretMount?.mountPath)}/password\\)`), 'Redis requires the same password, read from the file')
  t.equal(redisContainer.env, undefined, 'the password is in no environment variable')
  t.notMatch(`${JSON.stringify(redisContainer.command)} ${script.split('\n')[0] ?? ''}`, /requirepass|password/, 'nor on the command line')
  t.match(script, /maxmemory-policy noeviction/, 'full: writes refused, never revocations evicted')
  t.match(redisContainer.securityContext, { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true })

  const policy = rendered.find((m) => m.kind === 'NetworkPolicy' && m.metadata.name === 'auth-proxy-redis') as Manifest
  const from = policy.spec.ingress[0].from[0].podSelector.matchLabels as Record<string, string>
  t.same(from, { 'auth-proxy-sidecar/protected': 'true' }, 'only Pods running the proxy')
  t.equal(proxy.spec.template.metadata.labels['auth-proxy-sidecar/protected'], 'true', 'which the proxy\'s Pods are')
  t.notOk(rendered.some((m) => m.kind === 'Deployment' && m.metadata.name === 'my-app' && m.spec.template.metadata.labels['auth-proxy-sidecar/protected'] === 'true'), 'the app\'s Pods are not')
  const secret = rendered.find((m) => m.kind === 'Secret' && m.metadata.name === 'auth-proxy-redis') as Manifest
  t.equal(secret.metadata.annotations['auth-proxy-sidecar/demo-credentials'], 'true', 'the demo password, marked as such')
})

t.test('the component adds Redis to a sidecar too (k8s/examples/flask + components/redis)', async (t) => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
  const { join, relative } = await import('node:path')
  const { ROOT } = await import('../helpers/process.ts')
  const dir = mkdtempSync(join(ROOT, 'k8s', 'tmp-redis-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'kustomization.yaml'), `resources: [${relative(dir, join(ROOT, 'k8s/examples/flask'))}]\ncomponents: [${relative(dir, join(ROOT, 'k8s/components/redis'))}]\n`)
  const rendered = kustomize(relative(ROOT, dir))
  const deployment = rendered.find((m) => m.kind === 'Deployment') as Manifest
  const containers = deployment.spec.template.spec.containers as Manifest[]
  t.ok((containers.find((c) => c.name === 'auth-proxy')?.env as Manifest[]).some((e) => e.name === 'REDIS_URL'), 'the sidecar gets REDIS_URL')
  t.notOk((containers.find((c) => c.name === 'flask')?.env as Manifest[] | undefined)?.some((e) => e.name === 'REDIS_URL') === true, 'the app\'s container is untouched')
})
