import { useState } from 'react';
import { ApiError, signIn } from '../api.ts';

export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(username.trim(), password, needTotp ? totp.trim() : undefined);
      setPassword('');
      onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'VIGIL_ERR_AUTH_MFA_REQUIRED') {
        setNeedTotp(true);
        setError('Enter the 6-digit code from your authenticator app.');
      } else if (err instanceof ApiError && err.code === 'VIGIL_ERR_AUTH_LOCKED') {
        setError('Too many failed sign-ins: this account is locked for a while.');
      } else if (err instanceof ApiError && err.status === 401) {
        setError(needTotp ? 'Wrong or already used code.' : 'Wrong username or password.');
      } else {
        setError(err instanceof Error ? err.message : 'Sign-in failed.');
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <div className="brand brand-large">
          <svg viewBox="0 0 16 16" width="28" height="28" aria-hidden="true">
            <rect width="16" height="16" rx="3" fill="#0b5cad" />
            <path d="M2 9h3l2-5 2 8 2-3h3" stroke="white" strokeWidth="1.6" fill="none" />
          </svg>
          <span>Vigil</span>
        </div>
        <h1 id="signin-title">Sign in to the clinician dashboard</h1>
        <label htmlFor="username">Username</label>
        <input
          id="username"
          name="username"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
          // biome-ignore lint/a11y/noAutofocus: the only thing to do on this screen
          autoFocus
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        {needTotp && (
          <>
            <label htmlFor="totp">Authenticator code</label>
            <input
              id="totp"
              name="totp"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              value={totp}
              onChange={(e) => setTotp(e.target.value)}
              required
            />
          </>
        )}
        {error && (
          <p role="alert" className="error-text">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="fineprint">For authorised clinical staff. Access to patient records is logged.</p>
      </form>
    </main>
  );
}
