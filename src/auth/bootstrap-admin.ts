import { newId } from '../core/ids.ts';
import type { UserRepository } from '../store/user-repository.ts';
import { hashPassword, randomPassword } from './passwords.ts';

/**
 * First start: create the `admin` account. Its password is VIGIL_ADMIN_PASSWORD when set, else a
 * random one returned here to be printed once. Never a built-in password.
 */
export async function bootstrapAdmin(
  users: UserRepository,
  configured: string | undefined,
): Promise<{ created: boolean; password?: string; generated: boolean }> {
  if ((await users.count()) > 0) return { created: false, generated: false };
  const password = configured ?? randomPassword();
  const created = await users.insert({
    id: newId(),
    username: 'admin',
    passwordHash: await hashPassword(password),
    roles: ['admin'],
    displayName: 'Administrator',
    practitionerId: null,
    patientId: null,
  });
  if (!created) return { created: false, generated: false };
  return configured ? { created: true, generated: false } : { created: true, password, generated: true };
}
