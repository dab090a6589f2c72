// Field lists of the three OpenShift kinds we ship, from the OpenShift 4 API reference (route.openshift.io/v1,
// image.openshift.io/v1, build.openshift.io/v1), in the same form as @kubernetes/client-node's models so the
// strict validator treats them alike. Nested types we do not use are `any` (not checked further).
import type { Attribute } from './k8s-schema.ts'

const a = (spec: Record<string, string>): Attribute[] => Object.entries(spec).map(([baseName, type]) => ({ baseName, type }))
const top = (spec: string): Record<string, string> => ({ apiVersion: 'string', kind: 'string', metadata: 'V1ObjectMeta', spec, status: 'any' })

export const OPENSHIFT_TYPES: Record<string, Attribute[]> = {
  Route: a(top('RouteSpec')),
  RouteSpec: a({
    host: 'string', subdomain: 'string', path: 'string', to: 'RouteTargetReference',
    alternateBackends: 'Array<RouteTargetReference>', port: 'RoutePort', tls: 'TLSConfig', wildcardPolicy: 'string', httpHeaders: 'any'
  }),
  RouteTargetReference: a({ kind: 'string', name: 'string', weight: 'number' }),
  RoutePort: a({ targetPort: 'IntOrString' }),
  TLSConfig: a({
    termination: 'string', certificate: 'string', key: 'string', caCertificate: 'string', destinationCACertificate: 'string',
    insecureEdgeTerminationPolicy: 'string', externalCertificate: 'any'
  }),

  ImageStream: a(top('ImageStreamSpec')),
  ImageStreamSpec: a({ lookupPolicy: 'ImageLookupPolicy', dockerImageRepository: 'string', tags: 'Array<any>' }),
  ImageLookupPolicy: a({ local: 'boolean' }),

  BuildConfig: a(top('BuildConfigSpec')),
  BuildConfigSpec: a({
    triggers: 'Array<any>', runPolicy: 'string', serviceAccount: 'string', source: 'BuildSource', revision: 'any',
    strategy: 'BuildStrategy', output: 'BuildOutput', resources: 'V1ResourceRequirements', postCommit: 'any',
    completionDeadlineSeconds: 'number', nodeSelector: '{ [key: string]: string; }', mountTrustedCA: 'boolean',
    successfulBuildsHistoryLimit: 'number', failedBuildsHistoryLimit: 'number'
  }),
  BuildSource: a({
    type: 'string', binary: 'BinaryBuildSource', dockerfile: 'string', git: 'any', images: 'Array<any>', contextDir: 'string',
    sourceSecret: 'any', secrets: 'Array<any>', configMaps: 'Array<any>'
  }),
  BinaryBuildSource: a({ asFile: 'string' }),
  BuildStrategy: a({
    type: 'string', dockerStrategy: 'DockerBuildStrategy', sourceStrategy: 'any', customStrategy: 'any', jenkinsPipelineStrategy: 'any'
  }),
  DockerBuildStrategy: a({
    from: 'any', pullSecret: 'any', noCache: 'boolean', env: 'Array<V1EnvVar>', forcePull: 'boolean', dockerfilePath: 'string',
    buildArgs: 'Array<V1EnvVar>', imageOptimizationPolicy: 'string', volumes: 'Array<any>'
  }),
  BuildOutput: a({ to: 'V1ObjectReference', pushSecret: 'any', imageLabels: 'Array<any>' })
}
