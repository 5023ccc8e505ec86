import { loadConfig } from '../../config/config.ts';
import { backupDataDir, restoreDataDir } from '../../store/pglite/backup.ts';
import { parse, usageError } from '../args.ts';
import type { Command } from '../command.ts';

const usage = `vigil backup FILE      dump the embedded database (VIGIL_DATA_DIR) to FILE (.tar.gz); Vigil stopped
vigil restore FILE     restore FILE into VIGIL_DATA_DIR, which must be empty or absent
The secrets key (<data dir>-keys/secrets.key, or VIGIL_SECRETS_KEY) is not in the backup: keep it
apart and give it to the restored instance.
On PostgreSQL (VIGIL_DATABASE_URL) use the server's own tools: pg_dump / pg_basebackup with WAL
archiving for point-in-time restore (docs/operations.md).`;

function embeddedOnly(): string | undefined {
  const config = loadConfig();
  if (config.databaseUrl) {
    process.stderr.write(
      'vigil: VIGIL_DATABASE_URL is set: back up PostgreSQL with pg_dump or pg_basebackup + WAL archiving (docs/operations.md)\n',
    );
    return undefined;
  }
  return config.dataDir;
}

export const backup: Command = {
  name: 'backup',
  summary: 'dump the embedded database to a file (Vigil stopped)',
  usage,
  async run(args) {
    const { positionals } = parse(args, {}, usage);
    const [file] = positionals;
    if (!file) return usageError(usage);
    const dataDir = embeddedOnly();
    if (!dataDir) return 2;
    const { bytes } = await backupDataDir(dataDir, file);
    process.stdout.write(`backed up ${dataDir} to ${file} (${bytes} bytes)\n`);
    return 0;
  },
};

export const restore: Command = {
  name: 'restore',
  summary: 'restore a `vigil backup` file into an empty VIGIL_DATA_DIR',
  usage,
  async run(args) {
    const { positionals } = parse(args, {}, usage);
    const [file] = positionals;
    if (!file) return usageError(usage);
    const dataDir = embeddedOnly();
    if (!dataDir) return 2;
    await restoreDataDir(file, dataDir);
    process.stdout.write(
      `restored ${file} into ${dataDir}; start Vigil on it with the secrets key it was sealed with: copy the original <data dir>-keys/secrets.key to ${dataDir}-keys/secrets.key, or set VIGIL_SECRETS_KEY(_FILE)\n`,
    );
    return 0;
  },
};

export const command = backup;
