import { createHash, randomBytes } from 'node:crypto';
import type { Vigil } from '../../src/server.ts';
import { adminToken, call } from '../security/support.ts';

export const b64url = (b: Buffer) => b.toString('base64url');

export function pkce(): { verifier: string; challenge: string } {
  const verifier = b64url(randomBytes(48));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

export async function registerClient(
  vigil: Vigil,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const r = await call(vigil, 'POST', '/api/v1/smart/clients', { token: await adminToken(vigil), body });
  if (r.status !== 201) throw new Error(`register client: ${r.status} ${r.body}`);
  return r.json();
}

/** Form fields of the first form in a page (hidden inputs and radio values). */
export function formFields(html: string): {
  action: string;
  fields: Record<string, string>;
  radios: string[];
} {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1] ?? '';
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1] as string] = (m[2] as string).replace(/&amp;/g, '&');
  const radios = [...html.matchAll(/<input type="radio" name="patient" id="[^"]+" value="([^"]+)"/g)].map(
    (m) => m[1] as string,
  );
  return { action, fields, radios };
}

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

export interface FlowResult {
  location: URL;
  status: number;
}

/**
 * The browser's part of an authorization, over real HTTP: GET /oauth/authorize, sign in, consent.
 * Returns the redirect back to the app (code and state, or an error).
 */
export async function authorizeOverHttp(
  vigil: Vigil,
  query: Record<string, string>,
  user: { username: string; password: string },
  opts: { patient?: string; decision?: 'allow' | 'deny' } = {},
): Promise<FlowResult & { consentHtml?: string }> {
  const url = new URL('/oauth/authorize', vigil.httpUrl);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const first = await fetch(url, { redirect: 'manual' });
  if (first.status === 302)
    return { location: new URL(first.headers.get('location') as string), status: first.status };
  const signIn = await first.text();
  if (first.status !== 200) throw new Error(`authorize: ${first.status} ${signIn}`);
  const f1 = formFields(signIn);
  const second = await fetch(new URL(f1.action, vigil.httpUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ ...f1.fields, username: user.username, password: user.password }),
  });
  if (second.status === 302)
    return { location: new URL(second.headers.get('location') as string), status: second.status };
  const consentHtml = await second.text();
  if (second.status !== 200) throw new Error(`sign-in: ${second.status} ${consentHtml}`);
  const f2 = formFields(consentHtml);
  const patient = opts.patient ?? f2.radios[0];
  const third = await fetch(new URL(f2.action, vigil.httpUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form({ ...f2.fields, decision: opts.decision ?? 'allow', ...(patient ? { patient } : {}) }),
  });
  if (third.status !== 302) throw new Error(`consent: ${third.status} ${await third.text()}`);
  return { location: new URL(third.headers.get('location') as string), status: third.status, consentHtml };
}

export async function tokenRequest(
  vigil: Vigil,
  body: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const r = await fetch(new URL('/oauth/token', vigil.httpUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown>, headers: r.headers };
}

export async function fhirGet(
  vigil: Vigil,
  path: string,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(new URL(`/fhir/${path}`, vigil.httpUrl), {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
