import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditAgent } from '../../audit/audit-event.ts';
import { OidcStaffSignIn } from '../../auth/oidc-staff.ts';
import type { OidcConfig } from '../../config/config.ts';
import { isVigilError } from '../../core/errors.ts';
import type { RoutePlugin } from '../app.ts';
import type { ApiContext } from '../context.ts';
import { type AuditWhat, requestAudit } from '../request-audit.ts';
import { signInRateLimit } from '../security-plugin.ts';
import { publicOrigin } from './smart.ts';

const cookieName = 'vigil_oidc';
const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

function cookie(request: FastifyRequest, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * Staff sign-in through the hospital's OpenID Connect provider (docs/oidc.md), when configured
 * (VIGIL_OIDC_ISSUER …):
 * - GET /auth/oidc/login → the IdP (state, nonce, PKCE; the state bound to this browser by a cookie);
 * - GET /auth/oidc/callback → verifies, maps the IdP's groups to roles, provisions or updates the
 *   account, starts a session and hands the dashboard its refresh token (this tab's sessionStorage,
 *   as the dashboard's own sign-in does), then opens the dashboard.
 */
export function oidcRoutes(cfg: OidcConfig | undefined): RoutePlugin {
  return async (app: FastifyInstance, ctx: ApiContext) => {
    if (!cfg) return;
    const sec = ctx.security;
    const oidc = new OidcStaffSignIn(ctx.db, ctx.clock, cfg);
    const { succeeded, failed } = requestAudit(sec.audit);
    const login: AuditWhat = { kind: 'authentication', subtype: 'login', action: 'E' };
    const redirectUri = (request: FastifyRequest) => `${publicOrigin(request)}/auth/oidc/callback`;
    const secure = (request: FastifyRequest) => publicOrigin(request).startsWith('https:');
    const page = (reply: FastifyReply, status: number, title: string, body: string, nonce?: string) =>
      reply
        .status(status)
        .header(
          'content-security-policy',
          `default-src 'none'; style-src 'unsafe-inline'; ${nonce ? `script-src 'nonce-${nonce}'; ` : ''}frame-ancestors 'none'; base-uri 'none'`,
        )
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · Vigil</title></head><body style="font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto">${body}</body></html>`,
        );
    const config = { config: { auditSelf: 'all' as const, rateLimit: { ...signInRateLimit } } };

    app.get('/auth/oidc/login', config, async (request, reply) => {
      const { url, browser } = await oidc.begin(redirectUri(request));
      reply.header(
        'set-cookie',
        `${cookieName}=${browser}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=600${secure(request) ? '; Secure' : ''}`,
      );
      return reply.header('cache-control', 'no-store').redirect(url, 302);
    });

    app.get('/auth/oidc/callback', config, async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      reply.header('set-cookie', `${cookieName}=; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=0`);
      const anon: AuditAgent = { kind: 'anonymous', address: request.ip };
      if (q['error']) {
        await failed(request, login, `identity provider: ${String(q['error']).slice(0, 100)}`, anon);
        return page(
          reply,
          401,
          'Sign-in failed',
          '<h1>Sign-in failed</h1><p>The identity provider did not sign you in.</p>',
        );
      }
      try {
        const claimed = await oidc.complete(
          { state: q['state'], code: q['code'], browser: cookie(request, cookieName) },
          redirectUri(request),
        );
        // an account provisioned over SCIM has the roles SCIM gave it
        const scimRoles = await oidc.scimRoles(claimed);
        const id = scimRoles ? { ...claimed, roles: scimRoles } : claimed;
        const agent: AuditAgent = { kind: 'user', name: id.username, address: request.ip };
        if (id.roles.length === 0) {
          await failed(
            request,
            login,
            `OIDC: no Vigil role for groups ${id.groups.join(' ') || '(none)'}`,
            agent,
          );
          return page(
            reply,
            403,
            'No access',
            '<h1>No access to Vigil</h1><p>None of your groups at the hospital identity provider gives a Vigil role. Ask your administrator.</p>',
          );
        }
        const acct = await oidc.provision(id);
        const who: AuditAgent = {
          ...agent,
          id: acct.userId,
          roles: id.roles,
          practitionerId: id.practitionerId,
        };
        if (acct.disabled) {
          await failed(request, login, 'OIDC: account disabled', who);
          return page(
            reply,
            403,
            'No access',
            '<h1>No access to Vigil</h1><p>Your Vigil account is disabled.</p>',
          );
        }
        if (acct.created)
          await succeeded(
            request,
            { kind: 'user-security', subtype: 'user-create', action: 'C' },
            {
              outcomeDesc: `provisioned from the identity provider, roles ${id.roles.join(' ')}`,
              entities: [{ type: 'User', id: acct.userId }],
            },
            who,
          );
        else if (acct.previousRoles && [...acct.previousRoles].sort().join() !== [...id.roles].sort().join())
          await succeeded(
            request,
            { kind: 'user-security', subtype: 'roles-change', action: 'U' },
            {
              outcomeDesc: `from identity provider groups: ${acct.previousRoles.join(' ')} → ${id.roles.join(' ')}`,
              entities: [{ type: 'User', id: acct.userId }],
            },
            who,
          );
        const pair = await sec.sessions.start(acct.userId, request.ip);
        await succeeded(
          request,
          login,
          {
            outcomeDesc: `OIDC sign-in (groups ${id.groups.join(' ')})`,
            entities: [{ type: 'Session', id: pair.sessionId }],
          },
          who,
        );
        const nonce = randomBytes(16).toString('base64');
        return page(
          reply,
          200,
          'Signed in',
          `<p id="signed-in" data-refresh="${esc(pair.refresh_token)}">Signed in as ${esc(id.username)}. Opening Vigil…</p>
<script nonce="${nonce}">sessionStorage.setItem('vigil.refresh', document.getElementById('signed-in').dataset.refresh); location.replace('/');</script>`,
          nonce,
        );
      } catch (e) {
        if (!isVigilError(e)) throw e;
        await failed(request, login, `OIDC: ${e.message}`, anon);
        return page(
          reply,
          e.status >= 500 ? 502 : e.status,
          'Sign-in failed',
          `<h1>Sign-in failed</h1><p>${esc(e.message)}</p>`,
        );
      }
    });
  };
}
