/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument --
   rendered manifests are untyped YAML data (type Manifest); walking them field by field is the point here */
// The forward-auth manifests (k8s/forward-auth and the ingress-nginx and Traefik examples), rendered and validated
// strictly: the proxy in MODE=forward-auth passing its own configuration check, its rules parsing, the ingress
// pointed at the right endpoint (/check for ingress-nginx, /forward for Traefik) with the user passed on, /_auth
// routed to the proxy on the app's host, and the app and the proxy reachable only from the ingress controller.
import t from 'tap'
import { parse } from 'yaml'
import { readRuleSet } from '../../services/auth-proxy/src/authz/rules.ts'
import { loadConfig } from '../../services/auth-proxy/src/config.ts'
import { kustomize, type Manifest } from '../e2e/harness/kube.ts'
import { validateObject } from '../helpers/k8s-schema.ts'

const EXAMPLES = {
  'k8s/examples/ingress-nginx': { controller: 'ingress-nginx', endpoint: '/_auth/check' },
  'k8s/examples/traefik': { controller: 'traefik', endpoint: '/_auth/forward' }
} as const
const IDENTITY = ['X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups']

for (const [target, { controller, endpoint }] of Object.entries(EXAMPLES)) {
  t.test(`${target}: one authentication service behind ${controller}`, async (t) => {
    const rendered = kustomize(target)
    for (const m of rendered) t.same(validateObject(m), [], `${String(m.kind)} ${String(m.metadata?.name)} validates strictly`)
    const proxy = rendered.find((m) => m.kind === 'Deployment' && m.metadata.name === 'auth-proxy') as Manifest
    const container = proxy.spec.template.spec.containers[0] as Manifest
    const env = Object.fromEntries((container.env as Manifest[]).map((e) => [e.name, e.value]))
    t.equal(env.MODE, 'forward-auth')
    const config = loadConfig(env)
    t.equal(config.mode, 'forward-auth', 'the proxy\'s own configuration check accepts it')
    t.same(config.trustProxy, ['uniquelocal', '100.64.0.0/10'])
    const rules = rendered.find((m) => m.kind === 'ConfigMap' && String(m.metadata.name).startsWith('auth-proxy-rules')) as Manifest
    t.equal((proxy.spec.template.spec.volumes as Manifest[]).find((v) => v.name === 'rules')?.configMap?.name, rules.metadata.name, 'the rules ConfigMap (hash-suffixed) is the one mounted')
    t.ok(readRuleSet(parse(rules.data['rules.yaml'] as string)).rules.length > 0, 'and its rules parse')
    t.ok(String(env.AUTHZ_RULES_FILE).startsWith((container.volumeMounts as Manifest[]).find((m) => m.name === 'rules')?.mountPath as string))

    const service = rendered.find((m) => m.kind === 'Service' && m.metadata.name === 'auth-proxy') as Manifest
    const ns = proxy.metadata.namespace as string
    const checkUrl = `http://auth-proxy.${ns}.svc.cluster.local:${String(service.spec.ports[0].port)}${endpoint}`
    const app = rendered.find((m) => m.kind === 'Ingress' && m.metadata.name === 'my-app') as Manifest
    if (controller === 'ingress-nginx') {
      t.equal(app.metadata.annotations['nginx.ingress.kubernetes.io/auth-url'], checkUrl, 'auth-url: the /check endpoint of the Service')
      t.same(String(app.metadata.annotations['nginx.ingress.kubernetes.io/auth-response-headers']).split(','), IDENTITY)
    } else {
      const middleware = rendered.find((m) => m.kind === 'Middleware') as Manifest
      t.equal(middleware.spec.forwardAuth.address, checkUrl, 'address: the /forward endpoint of the Service')
      t.equal(middleware.spec.forwardAuth.trustForwardHeader, false, 'Traefik sets X-Forwarded-* itself')
      t.same(middleware.spec.forwardAuth.authResponseHeaders, IDENTITY)
      t.equal(app.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares'], `${ns}-${String(middleware.metadata.name)}@kubernetescrd`)
    }
    const login = rendered.find((m) => m.kind === 'Ingress' && m.metadata.name === 'my-app-login') as Manifest
    t.equal(login.spec.rules[0].host, app.spec.rules[0].host, 'the login on the app\'s own host')
    const paths = login.spec.rules[0].http.paths as Manifest[]
    t.same(paths.map((p): unknown[] => [p.path, p.pathType]), ['login', 'callback', 'logout', 'userinfo', 'backchannel-logout'].map((e) => [`/_auth/${e}`, 'Exact']), 'only the browser\'s endpoints, never the check')
    t.ok(paths.every((p) => p.backend.service.name === 'auth-proxy' && p.backend.service.port.number === 8081))
    t.same(login.metadata.annotations, undefined, 'no check in front of the login itself')

    for (const policy of rendered.filter((m) => m.kind === 'NetworkPolicy')) {
      const [first] = policy.spec.ingress as Manifest[]
      t.same(first?.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': controller } } }], `${String(policy.metadata.name)}: only the ${controller} namespace`)
    }
    t.equal(rendered.filter((m) => m.kind === 'NetworkPolicy').length, 2, 'the proxy and the app both closed to everything but the controller')
  })
}
