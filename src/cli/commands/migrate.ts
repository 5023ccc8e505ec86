import { loadConfig } from '../../config/config.ts';
import { migrate } from '../../store/migrate.ts';
import { openDatabase } from '../../store/open-database.ts';
import type { Command } from '../command.ts';

export const command: Command = {
  name: 'migrate',
  summary: 'apply database migrations (PGlite in VIGIL_DATA_DIR, or VIGIL_DATABASE_URL) and exit',
  usage: 'vigil migrate',
  async run() {
    const config = loadConfig();
    const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const applied = await migrate(db);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      return 0;
    } finally {
      await db.close();
    }
  },
};
