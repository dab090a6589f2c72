/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   rendered manifests are untyped YAML data (type Manifest); walking them field by field is the point here */
// What each shipped target makes the proxy believe about client addresses, proven on the rendered manifests: who
// the NetworkPolicy lets reach the public port, and — through the proxy itself, built from that target's settings
// and asked with inject() from a chosen peer address — whose X-Forwarded-For it then believes. Behind the
// OpenShift router every client must be told apart (else one guesser locks everyone out, and logs name the
// router); from anywhere else nobody may choose their own address.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { parse } from 'yaml'
import { buildApp } from '../../services/auth-proxy/src/app.ts'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'
import { kustomize, type Manifest } from '../e2e/harness/kube.ts'
import { basic } from '../helpers/http.ts'
import { ROOT } from '../helpers/process.ts'
import { startUpstream } from '../helpers/upstream.ts'

// Exposed as the Service decides (nobody trusted) …
const PLAIN = ['k8s/base', 'k8s/examples/flask', 'k8s/examples/jupyter', 'k8s/examples/shiny']
// … and reached through a router or ingress controller only (its X-Forwarded-For believed).
const ROUTED = ['k8s/openshift', 'k8s/openshift-reencrypt', 'k8s/openshift-ldap', 'k8s/openshift-oidc', 'k8s/examples/trusted-ingress', 'k8s/examples/jupyter-openshift']
const TARGETS = [...PLAIN, ...ROUTED]
const ROUTER = { 'policy-group.network.openshift.io/ingress': '' }
const INGRESS_NGINX = { 'kubernetes.io/metadata.name': 'ingress-nginx' }

/** Who may open a connection to `port` under the policy: 'anyone', or the namespace selectors admitted. */
function whoMayReach (policy: Manifest, port: number): 'anyone' | Array<Record<string, string>> {
  const peers: Array<Record<string, string>> = []
  for (const rule of policy.spec.ingress as Manifest[]) {
    const covers = rule.ports === undefined || (rule.ports as Manifest[]).some((p) => p.port === port)
    if (!covers) continue
    if (rule.from === undefined || (rule.from as Manifest[]).length === 0) return 'anyone'
    for (const peer of rule.from as Manifest[]) {
      if (peer.ipBlock !== undefined || peer.podSelector !== undefined || peer.namespaceSelector?.matchLabels === undefined) return 'anyone' // broader than a namespace label: treat as open
      peers.push(peer.namespaceSelector.matchLabels)
    }
  }
  return peers
}

function proxyEnv (manifests: Manifest[]): Record<string, string> {
  const deployment = manifests.find((m) => m.kind === 'Deployment') as Manifest
  const proxy = (deployment.spec.template.spec.containers as Manifest[]).find((c) => c.name === 'auth-proxy') as Manifest
  return Object.fromEntries((proxy.env as Manifest[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]))
}

/** The client address the proxy settles on for a request from `peer` that claims `forwardedFor`. */
async function clientSeen (env: Record<string, string>, peer: string, forwardedFor: string): Promise<string | undefined> {
  const upstream = await startUpstream()
  // The target's own trust and forwarding settings; credentials and the app replaced by the test's.
  const config = loadConfig({ TRUST_PROXY: env.TRUST_PROXY ?? '', UPSTREAM_URL: upstream.url, AUTH_USERNAME: 'u', AUTH_PASSWORD: 'p', LOG_LEVEL: 'silent' })
  const app = buildApp(config)
  try {
    await app.ready()
    const res = await app.inject({ url: '/', remoteAddress: peer, headers: { authorization: basic('u', 'p'), 'x-forwarded-for': forwardedFor } })
    const seen = upstream.received.at(-1)
    if (res.statusCode !== 200 || seen === undefined) throw new Error(`status ${res.statusCode}`)
    return seen.headers['x-real-ip'] as string | undefined
  } finally {
    await app.close()
    await upstream.close()
  }
}

for (const target of TARGETS) {
  const manifests = kustomize(target)
  const policy = manifests.find((m) => m.kind === 'NetworkPolicy') as Manifest
  const env = proxyEnv(manifests)
  const behindRouter = ROUTED.includes(target)

  t.test(`${target}: who reaches the public port, and whose X-Forwarded-For the proxy believes`, async (t) => {
    const reach = whoMayReach(policy, 8081)
    if (!behindRouter) {
      t.equal(reach, 'anyone', 'plain Kubernetes: exposed as the Service decides')
      t.equal(env.TRUST_PROXY, undefined, 'so nobody is trusted')
      t.equal(await clientSeen(env, '10.128.2.5', '203.0.113.7'), '10.128.2.5', 'a forged X-Forwarded-For is not believed, even from a private address')
      return
    }
    t.same(reach, [target.includes('trusted-ingress') ? INGRESS_NGINX : ROUTER], 'only the router (ingress controller) namespace reaches 8081')
    t.same(whoMayReach(policy, 9091), 'anyone', 'the management port: probes and metrics')
    // The router's addresses: pod network, nodes (host-network routers), OVN's join subnet.
    for (const router of ['10.128.2.5', '10.0.0.7', '172.30.0.1', '192.168.10.3', '100.64.0.4', 'fd01::5']) {
      t.equal(await clientSeen(env, router, '203.0.113.7'), '203.0.113.7', `from the router at ${router}: the client it reports`)
    }
    t.equal(await clientSeen(env, '10.128.2.5', '198.51.100.9, 203.0.113.7'), '203.0.113.7', 'the hop the router added, not what the client wrote before it')
    for (const stranger of ['203.0.113.66', '8.8.8.8', '2001:db8::1']) {
      t.equal(await clientSeen(env, stranger, '10.1.1.1'), stranger, `were the policy not enforced, ${stranger} still could not choose its address`)
    }
  })
}

t.test('docker-compose.yml: the published port is the proxy\'s own; nothing is trusted', async (t) => {
  const compose = parse(readFileSync(`${ROOT}docker-compose.yml`, 'utf8')) as Manifest
  const env = compose.services['auth-proxy'].environment as Record<string, string>
  t.equal(env.TRUST_PROXY, undefined)
  t.equal(await clientSeen(env, '172.18.0.1', '203.0.113.7'), '172.18.0.1')
})
