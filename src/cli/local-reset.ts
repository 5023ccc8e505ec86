import { AuditLog } from '../audit/audit-log.ts';
import { hashPassword, randomPassword } from '../auth/passwords.ts';
import { SessionService } from '../auth/session-service.ts';
import { TokenService } from '../auth/token-service.ts';
import type { Clock } from '../core/clock.ts';
import { VigilError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/logger.ts';
import type { Database } from '../store/database.ts';
import { migrate } from '../store/migrate.ts';
import { UserRepository } from '../store/user-repository.ts';

export interface LocalResetResult {
  userId: string;
  username: string;
  password: string;
  /** The account did not exist (a first start that never finished): it was created as an admin. */
  created: boolean;
  /** The account had been disabled; the reset enables it again. */
  reenabled: boolean;
  sessionsEnded: number;
}

/**
 * Recovery without a running server or a signed-in administrator: straight on the database (the
 * embedded data directory or VIGIL_DATABASE_URL), for an operator who has lost the admin password.
 * Sets a new random password, clears the sign-in lockout, enables the account again, ends every
 * session and writes an audit record (agent `system`, the command's name). When no account exists
 * at all and `admin` is asked for, it is created as the first start would.
 */
export async function resetPasswordLocal(opts: {
  db: Database;
  clock: Clock;
  log: Logger;
  username: string;
  operator?: string | undefined;
}): Promise<LocalResetResult> {
  const { db, clock, username } = opts;
  await migrate(db); // a first start may have stopped before every migration; this is what start does
  const users = new UserRepository(db);
  let user = await users.byUsername(username);
  const password = randomPassword();
  const hash = await hashPassword(password);
  let created = false;
  if (!user) {
    if (username !== 'admin' || (await users.count()) > 0)
      throw new VigilError('VIGIL_ERR_AUTH_USER_NOT_FOUND', `no user named ${username}`, 1);
    created = await users.insert({
      id: newId(),
      username,
      passwordHash: hash,
      roles: ['admin'],
      displayName: 'Administrator',
      practitionerId: null,
      patientId: null,
    });
    user = await users.byUsername(username);
    if (!user) throw new VigilError('VIGIL_ERR_AUTH_USER_NOT_FOUND', `no user named ${username}`, 1);
  } else {
    await users.setPassword(user.id, hash);
  }
  const reenabled = user.disabled;
  if (reenabled)
    await db.query('update app_user set disabled = false, updated_at = now() where id = $1', [user.id]);
  await db.query('delete from login_throttle where username = $1', [
    username.normalize('NFKC').toLowerCase().slice(0, 200),
  ]);
  const tokens = await TokenService.load(db, clock);
  const sessionsEnded = created
    ? 0
    : await new SessionService(db, clock, tokens).revokeAllForUser(user.id, 'password-reset');
  const audit = new AuditLog(db, clock, opts.log);
  try {
    await audit.record({
      kind: 'user-security',
      subtype: created ? 'account-created' : 'password-reset',
      action: created ? 'C' : 'U',
      outcome: 'success',
      outcomeDesc: 'offline recovery: vigil user reset-password --local',
      agent: { kind: 'system', name: opts.operator ? `local operator ${opts.operator}` : 'local operator' },
      entities: [{ type: 'User', id: user.id }],
    });
  } finally {
    await audit.close();
  }
  return { userId: user.id, username, password, created, reenabled, sessionsEnded };
}
