import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/token-service.ts';
import { ConsentService } from '../../consent/consent-service.ts';
import { type FhirNamespaceRewriter, fhirNamespaceRewriter } from '../../core/fhir-namespace.ts';
import type { RoutePlugin } from '../app.ts';
import type { ApiContext } from '../context.ts';
import { bindPolicy } from './access.ts';
import { patientsOfFhir } from './audit-patients.ts';
import { runExport } from './export-runner.ts';
import { badRequest, FhirError, outcome, unauthorized } from './outcomes.ts';
import { ResourceStore } from './resource-store.ts';
import { errorResponse, handleFhir } from './router.ts';
import { withStoredReadings } from './stored-readings.ts';
import type { FhirRequest, FhirResponse, FhirServices } from './types.ts';
import { definitions } from './validation/definitions.ts';
import { unstorable } from './validation/safe-json.ts';

const fhirJson = 'application/fhir+json; charset=utf-8';
const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
/** Longer request targets are answered 414 (Node itself refuses headers over 16 KiB with 431). */
export const maxUrlLength = 8192;

/** Parses a JSON body; anything PostgreSQL's json could not store is refused here with its path. */
function parseJsonBody(body: string): unknown {
  if (body === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  const rt = (v as { resourceType?: unknown } | null)?.resourceType;
  const bad = unstorable(v, typeof rt === 'string' && /^[A-Z][A-Za-z]{0,63}$/.test(rt) ? rt : '');
  if (bad)
    throw badRequest(`the body ${bad.path ? `at ${bad.path} ` : ''}${bad.problem}`, bad.path || undefined);
  return v;
}

const failure = (status: number, code: 'not-supported' | 'too-costly', msg: string, vigil: string) =>
  new FhirError(status, outcome('error', code, msg, undefined, vigil));

/**
 * JSON is the only format: a request that asks for XML (Accept or _format) or anything else this
 * server cannot produce gets 406, as an OperationOutcome in JSON.
 */
export function notAcceptable(accept: string | undefined, format: string | null): FhirError | undefined {
  const f = format?.toLowerCase();
  if (f && !['json', 'application/json', 'application/fhir+json', 'application/json+fhir'].includes(f))
    return failure(
      406,
      'not-supported',
      `_format=${format} is not supported: this server speaks JSON only`,
      'VIGIL_ERR_FHIR_NOT_ACCEPTABLE',
    );
  if (!accept) return undefined;
  const types = accept.split(',').map((t) => t.split(';')[0]?.trim().toLowerCase() ?? '');
  const ok = types.some((t) =>
    [
      '*/*',
      'application/*',
      'application/json',
      'application/fhir+json',
      'application/json+fhir',
      'application/json-patch+json',
    ].includes(t),
  );
  return ok
    ? undefined
    : failure(
        406,
        'not-supported',
        `cannot answer '${accept}': this server speaks FHIR JSON only (application/fhir+json)`,
        'VIGIL_ERR_FHIR_NOT_ACCEPTABLE',
      );
}

/**
 * Node's HTTP parser refuses a request before any route sees it (a request target or headers over
 * 16 KiB → 431, a malformed request → 400); under /fhir that answer is an OperationOutcome too.
 */
/** Fastify's own refusals before routing (a URL that is not valid percent-encoding) under /fhir. */
export function fhirFrameworkError(error: Error, url: string): FhirResponse | undefined {
  if (!/^\/fhir(?:[/?]|$)/.test(url)) return undefined;
  return {
    status: 400,
    resource: outcome(
      'error',
      'invalid',
      `the request URL cannot be read: ${error.message}`,
      undefined,
      'VIGIL_ERR_FHIR_INVALID',
    ),
  };
}

export function fhirClientError(err: Error & { code?: string }, socket: import('node:net').Socket): boolean {
  const raw = (err as { rawPacket?: unknown }).rawPacket;
  const head = Buffer.isBuffer(raw) ? raw.subarray(0, 64).toString('latin1') : '';
  if (!/^[A-Z]+ \/fhir(?:[/?]|$| )/.test(head) || !socket.writable) return false;
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'HPE_URI_TOO_LONG' ? 414 : 400;
  const body = JSON.stringify(
    outcome(
      'error',
      status === 400 ? 'invalid' : 'too-costly',
      status === 400 ? 'the request could not be parsed' : 'the request target or headers are too large',
      undefined,
      status === 400 ? 'VIGIL_ERR_FHIR_INVALID' : 'VIGIL_ERR_FHIR_URI_TOO_LONG',
    ),
  );
  const reason =
    status === 431 ? 'Request Header Fields Too Large' : status === 414 ? 'URI Too Long' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/fhir+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return true;
}

/** Services for FHIR handlers outside HTTP too (CLI, tests, bench). */
export function createFhirServices(
  base: Pick<ApiContext, 'db' | 'clock' | 'log'> &
    Partial<Pick<ApiContext, 'readingsStored' | 'subscriptions'>>,
): FhirServices & { exportsIdle(): Promise<void> } {
  // Observations committed through FHIR reach detection like every other stored reading.
  const ctx = {
    ...base,
    db: withStoredReadings(
      base.db,
      () => base.readingsStored,
      () => base.subscriptions?.onReadings,
    ),
  };
  const store = new ResourceStore(ctx);
  const running = new Set<Promise<void>>();
  const log = ctx.log.child({ component: 'fhir' });
  const consent = new ConsentService(ctx.db, ctx.clock);
  const consentRefusing = (purpose: 'integration-sharing') => consent.refusing(purpose);
  return {
    db: ctx.db,
    sql: ctx.db,
    store,
    clock: ctx.clock,
    log,
    startExport(jobId) {
      const p = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => runExport(ctx.db, store, jobId, log, consentRefusing))
        .finally(() => running.delete(p));
      running.add(p);
    },
    consentRefusing,
    subscriptions: base.subscriptions,
    async exportsIdle() {
      await Promise.allSettled([...running]);
    },
  };
}

function baseUrl(request: FastifyRequest): string {
  const configured = process.env['VIGIL_PUBLIC_URL'];
  if (configured) return `${configured.replace(/\/$/, '')}/fhir`;
  return `${request.protocol}://${request.host}/fhir`;
}

async function principalOf(ctx: ApiContext, request: FastifyRequest): Promise<Principal> {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (!m?.[1]) throw unauthorized();
  // The one authentication of every API: signature, expiry, and revocation (session, token, account).
  try {
    return await ctx.security.authenticate(m[1], { allowSmartApp: true });
  } catch (e) {
    // A device's own secret (a PHD gateway posting its bundles): the patient it is assigned to now
    // bounds what it may write (the access policy's deviceFhir).
    const deviceId = m[1].includes('.') ? undefined : await ctx.devices.authenticateBearer(m[1]);
    if (!deviceId) throw e;
    const patientId = await ctx.devices.patientAt(deviceId, new Date(ctx.clock.now()).toISOString());
    return { kind: 'device', id: deviceId, roles: ['device'], scopes: [], patientId };
  }
}

/** The default namespace's rewriter: outbound it only maps legacy forms of stored data. */
const defaultNamespace = fhirNamespaceRewriter();

function send(
  reply: FastifyReply,
  res: FhirResponse,
  ns: FhirNamespaceRewriter = defaultNamespace,
): FastifyReply {
  reply.status(res.status);
  for (const [k, v] of Object.entries(res.headers ?? {})) reply.header(k, v);
  if (res.status === 401) reply.header('www-authenticate', 'Bearer realm="vigil-fhir"');
  // temporarily unavailable (the database): tell the client when to retry, as the management API does
  if (res.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '5');
  // Vigil's own URLs leave in the deployment's namespace (VIGIL_FHIR_NAMESPACE), NDJSON exports too.
  if (res.raw)
    return reply
      .type(res.raw.contentType)
      .send(
        typeof res.raw.body === 'string' && /json/.test(res.raw.contentType)
          ? ns.outbound(res.raw.body)
          : res.raw.body,
      );
  if (!res.resource) return reply.send();
  return reply.type(fhirJson).send(ns.outbound(JSON.stringify(res.resource)));
}

/**
 * FHIR R4 over HTTP at /fhir: authenticates the bearer token, turns the request into a plain
 * FhirRequest, and the FhirResponse back into HTTP. Everything else lives in the handlers.
 */
export const fhirRoutes: RoutePlugin = async (app: FastifyInstance, ctx: ApiContext) => {
  const svc = createFhirServices(ctx);
  // Vigil's URLs come in (bodies, search values) in the deployment's namespace or a legacy one,
  // and are handled and stored in the internal one (core/fhir-namespace.ts).
  const ns = fhirNamespaceRewriter(ctx.fhirNamespace);
  // The R4 definitions the write validator needs (about a second, once per process): warmed just
  // after start rather than inside plugin registration, whose time is limited; a write before
  // then loads them itself.
  setTimeout(() => definitions(), 0).unref();
  app.addHook('onClose', async () => svc.exportsIdle());
  // Consents recorded before they carried a search index get one (`Consent?patient=` finds them).
  await ctx.security.consent.indexMissing();
  // JSON bodies under /fhir (this plugin's scope) are parsed here, application/json included.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/fhir+json', 'application/json+fhir', 'application/json', 'application/json-patch+json'],
    { parseAs: 'string' },
    (_req, body, done) => {
      try {
        done(null, parseJsonBody(ns.inbound(body as string)));
      } catch (e) {
        done(e as Error, undefined);
      }
    },
  );
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    // POST _search: each decoded value as a query value would be
    const form = new URLSearchParams();
    for (const [k, v] of new URLSearchParams(body as string)) form.append(k, ns.inbound(v));
    done(null, form.toString());
  });
  app.setErrorHandler((error, _request, reply) => {
    const status =
      (error as { status?: number; statusCode?: number }).status ??
      (error as { statusCode?: number }).statusCode;
    if (status === 413)
      return send(
        reply,
        {
          status: 413,
          resource: outcome(
            'error',
            'too-costly',
            'request body is too large',
            undefined,
            'VIGIL_ERR_FHIR_TOO_LARGE',
          ),
        },
        ns,
      );
    if (status === 415)
      return send(
        reply,
        {
          status: 415,
          resource: outcome(
            'error',
            'not-supported',
            'use Content-Type application/fhir+json',
            undefined,
            'VIGIL_ERR_FHIR_UNSUPPORTED_MEDIA_TYPE',
          ),
        },
        ns,
      );
    if (
      error instanceof SyntaxError ||
      (error as { code?: string }).code === 'FST_ERR_CTP_INVALID_JSON_BODY' ||
      status === 400
    ) {
      return send(
        reply,
        errorResponse(
          (error as { outcome?: unknown }).outcome
            ? error
            : badRequest(`the request could not be read: ${(error as Error).message}`),
          svc,
        ),
        ns,
      );
    }
    return send(reply, errorResponse(error, svc), ns);
  });

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.url.length > maxUrlLength)
      return send(
        reply,
        errorResponse(
          failure(
            414,
            'too-costly',
            `the request URL is longer than ${maxUrlLength} characters`,
            'VIGIL_ERR_FHIR_URI_TOO_LONG',
          ),
          svc,
        ),
        ns,
      );
    let principal: Principal;
    try {
      // A principal object of this request's own, bound to the access policy's decisions for it
      // (care teams, consent refusals read now — a revocation applies to the next request).
      principal = { ...(await principalOf(ctx, request)) };
      // The audit record of this interaction names the authenticated agent (security-plugin.ts).
      request.principal = principal;
      bindPolicy(principal, await ctx.security.policy.snapshot(principal));
    } catch (e) {
      return send(reply, errorResponse(e, svc), ns);
    }
    const url = new URL(request.url, 'http://local');
    const query = new URLSearchParams();
    for (const [k, v] of url.searchParams) query.append(k, ns.inbound(v));
    const refusal = notAcceptable(request.headers.accept, url.searchParams.get('_format'));
    if (refusal) return send(reply, errorResponse(refusal, svc), ns);
    let path: string;
    try {
      path = decodeURIComponent(url.pathname.replace(/^\/fhir\/?/, ''));
    } catch {
      return send(
        reply,
        errorResponse(badRequest('the request path is not valid percent-encoding'), svc),
        ns,
      );
    }
    for (const [k, v] of url.searchParams)
      if (unstorable(k) || unstorable(v))
        return send(
          reply,
          errorResponse(
            badRequest(
              `search parameter '${k.slice(0, 64)}' contains a NUL character or an unpaired surrogate`,
            ),
            svc,
          ),
          ns,
        );
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const req: FhirRequest = {
      method: request.method as FhirRequest['method'],
      path,
      query,
      headers,
      body: request.body,
      principal,
      baseUrl: baseUrl(request),
    };
    const res = await handleFhir(req, svc);
    const patients = patientsOfFhir(req, res);
    if (patients.length) request.auditPatientIds = patients;
    // A CareTeam written here changes who may see whom: the next request must not see a cached team.
    if (request.method !== 'GET' && request.method !== 'HEAD' && res.status < 300)
      ctx.security.careTeams.invalidate();
    // A MedicationRequest (or a bundle that may hold one) written: its schedule is a detection rule.
    if (
      request.method !== 'GET' &&
      request.method !== 'HEAD' &&
      res.status < 300 &&
      patients.length > 0 &&
      (path.startsWith('MedicationRequest') || path === '')
    )
      ctx.medicationRequestsChanged?.(patients);
    return send(reply, res, ns);
  };
  // The CapabilityStatement is public (SMART App Launch: clients discover the OAuth endpoints
  // before they have a token); it holds no patient data, so it is not an audit record.
  app.get('/fhir/metadata', async (request, reply) => {
    const anonymous: Principal = { kind: 'user', id: 'anonymous', roles: [], scopes: [] };
    const url = new URL(request.url, 'http://local');
    const res = await handleFhir(
      {
        method: 'GET',
        path: 'metadata',
        query: url.searchParams,
        headers: { accept: request.headers.accept },
        principal: anonymous,
        baseUrl: baseUrl(request),
      },
      svc,
    );
    return send(reply, res, ns);
  });
  // Every FHIR interaction is an audit record (security-plugin.ts); handlers may name the patient.
  const config = { audit: { entity: 'FHIR' } };
  app.route({ method: [...methods], url: '/fhir', handler, config });
  app.route({ method: [...methods], url: '/fhir/*', handler, config });
};
