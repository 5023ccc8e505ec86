/** Server-rendered pages without script: SMART sign-in and consent, errors, the acknowledge-link pages. */

export const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

const style = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1b2733}
h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.app{background:#eef3f8;padding:.8rem;border-radius:.4rem}
ul.scopes li{margin:.3rem 0}.err{color:#a00}.patient{display:flex;gap:.5rem;align-items:center;margin:.3rem 0}`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Vigil</title><style>${style}</style></head><body>${body}</body></html>`;
}

/** CSP of these pages: no script at all; forms post here and redirect only to the app's redirect URI. */
export function pageCsp(redirectUri?: string): string {
  const origin = redirectUri ? ` ${new URL(redirectUri).origin}` : '';
  return `default-src 'none'; style-src 'unsafe-inline'; form-action 'self'${origin}; frame-ancestors 'none'; base-uri 'none'`;
}

export function errorPage(message: string): string {
  return page(
    'Authorization error',
    `<h1>This app cannot be authorized</h1><p class="err">${esc(message)}</p>
<p>Nothing was shared. Tell the app's publisher or your administrator.</p>`,
  );
}

export function signInPage(opts: {
  appName: string;
  clientId: string;
  handle: string;
  error?: string;
}): string {
  return page(
    'Sign in',
    `<h1>Sign in to Vigil</h1>
<p class="app"><strong>${esc(opts.appName)}</strong> (<code>${esc(opts.clientId)}</code>) asks to access your Vigil data.</p>
${opts.error ? `<p class="err" role="alert">${esc(opts.error)}</p>` : ''}
<form method="post" action="/oauth/authorize/sign-in">
<input type="hidden" name="handle" value="${esc(opts.handle)}">
<label for="username">Username</label><input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<label for="totp">One-time code (if you use a second factor)</label><input type="text" id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code">
<button type="submit" id="sign-in">Sign in</button>
</form>`,
  );
}

const scopeText: Record<string, string> = {
  openid: 'Know who you are (your Vigil identity)',
  fhirUser: 'Know your FHIR identity (Practitioner or Patient record)',
  profile: 'Know your user name',
  launch: 'Open in the context chosen in Vigil (patient)',
  'launch/patient': 'Ask which patient to open',
  offline_access: 'Stay connected when you are not using it (refresh token)',
  online_access: 'Stay connected while you are signed in (refresh token)',
};

export function describeScope(s: string): string {
  if (scopeText[s]) return scopeText[s];
  const m = /^(patient|user|system)\/([^.]+)\.(.+)$/.exec(s);
  if (!m) return s;
  const [, ctx, type, perm] = m;
  const what = type === '*' ? 'all data' : `${type} data`;
  const can =
    perm === 'read' || perm === 'rs' || perm === 'r' || perm === 's'
      ? 'Read'
      : perm === 'write'
        ? 'Write'
        : `Use (${perm})`;
  return `${can} ${what} ${ctx === 'patient' ? 'of the selected patient' : 'you may see'}`;
}

export function consentPage(opts: {
  appName: string;
  clientId: string;
  username: string;
  handle: string;
  ticket: string;
  scopes: string[];
  patients?: Array<{ id: string; name: string }>;
  fixedPatient?: { id: string; name: string };
}): string {
  const picker = opts.patients
    ? `<fieldset><legend>Patient to open in the app</legend>${opts.patients
        .map(
          (p, i) =>
            `<div class="patient"><input type="radio" name="patient" id="p-${i}" value="${esc(p.id)}"${i === 0 ? ' checked' : ''}><label for="p-${i}">${esc(p.name)} <small>(${esc(p.id)})</small></label></div>`,
        )
        .join('')}</fieldset>`
    : opts.fixedPatient
      ? `<p>Patient: <strong>${esc(opts.fixedPatient.name)}</strong> <small>(${esc(opts.fixedPatient.id)})</small></p>`
      : '';
  return page(
    'Allow access',
    `<h1>Allow ${esc(opts.appName)}?</h1>
<p class="app">Signed in as <strong>${esc(opts.username)}</strong>. <strong>${esc(opts.appName)}</strong> (<code>${esc(opts.clientId)}</code>) will be able to:</p>
<ul class="scopes">${opts.scopes.map((s) => `<li>${esc(describeScope(s))} <small><code>${esc(s)}</code></small></li>`).join('')}</ul>
<form method="post" action="/oauth/authorize/consent">
<input type="hidden" name="handle" value="${esc(opts.handle)}"><input type="hidden" name="ticket" value="${esc(opts.ticket)}">
${picker}
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`,
  );
}
