// Strict structural validation of Kubernetes objects, with no cluster: every field must exist in the API type
// (so DeploymentConfig-only fields such as `rollingParams` in a Deployment fail, as a strict API server would
// reject them). Field lists come from @kubernetes/client-node's generated models (the OpenAPI spec); required
// fields and value types are checked by kubernetes-models. OpenShift kinds are described in openshift-schema.ts,
// Traefik's Middleware in traefik-schema.ts.
import * as k8s from '@kubernetes/client-node'
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1'
import { OPENSHIFT_TYPES } from './openshift-schema.ts'
import { TRAEFIK_TYPES } from './traefik-schema.ts'

export interface Attribute { readonly baseName: string, readonly type: string }
type Models = Record<string, { getAttributeTypeMap?: () => Attribute[] } | undefined>

const KINDS: Record<string, { type: string, validate?: (o: object) => void }> = {
  'v1/ConfigMap': { type: 'V1ConfigMap', validate: (o) => { new ConfigMap(o).validate() } },
  'v1/Secret': { type: 'V1Secret', validate: (o) => { new Secret(o).validate() } },
  'v1/Service': { type: 'V1Service', validate: (o) => { new Service(o).validate() } },
  'apps/v1/Deployment': { type: 'V1Deployment', validate: (o) => { new Deployment(o).validate() } },
  'apps/v1/StatefulSet': { type: 'V1StatefulSet', validate: (o) => { new StatefulSet(o).validate() } },
  'networking.k8s.io/v1/NetworkPolicy': { type: 'V1NetworkPolicy', validate: (o) => { new NetworkPolicy(o).validate() } },
  'networking.k8s.io/v1/Ingress': { type: 'V1Ingress', validate: (o) => { new Ingress(o).validate() } },
  'traefik.io/v1alpha1/Middleware': { type: 'Middleware' },
  'route.openshift.io/v1/Route': { type: 'Route' },
  'image.openshift.io/v1/ImageStream': { type: 'ImageStream' },
  'build.openshift.io/v1/BuildConfig': { type: 'BuildConfig' }
}

function attributesOf (type: string): Attribute[] | undefined {
  return OPENSHIFT_TYPES[type] ?? TRAEFIK_TYPES[type] ?? (k8s as unknown as Models)[type]?.getAttributeTypeMap?.()
}

function check (value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return
  const array = /^Array<(.+)>$/.exec(type)
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type)
  if (type === 'any') return
  if (array?.[1] !== undefined) {
    if (!Array.isArray(value)) { errors.push(`${path}: expected a list`); return }
    value.forEach((v, i) => { check(v, array[1] as string, `${path}[${i}]`, errors) })
  } else if (map?.[1] !== undefined) {
    if (typeof value !== 'object' || Array.isArray(value)) { errors.push(`${path}: expected a map`); return }
    for (const [k, v] of Object.entries(value)) check(v, map[1], `${path}.${k}`, errors)
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') errors.push(`${path}: expected a string, got ${JSON.stringify(value)}`)
  } else if (type === 'number') {
    if (typeof value !== 'number') errors.push(`${path}: expected a number, got ${JSON.stringify(value)}`)
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') errors.push(`${path}: expected a boolean, got ${JSON.stringify(value)}`)
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && typeof value !== 'number') errors.push(`${path}: expected an int or a string`)
  } else {
    const attributes = attributesOf(type)
    if (attributes === undefined) { errors.push(`${path}: no schema for type ${type}`); return }
    if (typeof value !== 'object' || Array.isArray(value)) { errors.push(`${path}: expected an object (${type})`); return }
    const known = new Map(attributes.map((a) => [a.baseName, a.type]))
    for (const [k, v] of Object.entries(value)) {
      const t = known.get(k)
      if (t === undefined) errors.push(`${path}.${k}: unknown field in ${type}`)
      else check(v, t, `${path}.${k}`, errors)
    }
  }
}

/** Every problem found in one object: unknown kinds, unknown fields, wrong types, missing required fields. */
export function validateObject (object: Record<string, unknown>): string[] {
  const id = `${String(object.apiVersion)}/${String(object.kind)}`
  const name = (object.metadata as { name?: string } | undefined)?.name ?? '?'
  const kind = KINDS[id]
  if (kind === undefined) return [`${id} ${name}: kind not covered by the validator`]
  const errors: string[] = []
  check(object, kind.type, `${id} ${name}`, errors)
  try {
    kind.validate?.(object)
  } catch (err) {
    errors.push(`${id} ${name}: ${(err as Error).message}`)
  }
  return errors
}
