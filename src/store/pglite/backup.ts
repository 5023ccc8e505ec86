import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { VigilError } from '../../core/errors.ts';

/**
 * Backup of the embedded database: PGlite's own dump of its data directory (a gzipped tar of the
 * PostgreSQL cluster files, taken through the engine, so consistent). Run with Vigil stopped: PGlite
 * is single-process and has no lock another process would see.
 */
export async function backupDataDir(dataDir: string, outFile: string): Promise<{ bytes: number }> {
  if (!existsSync(dataDir) || readdirSync(dataDir).length === 0)
    throw new VigilError('VIGIL_ERR_STORE_BACKUP_NO_DATA', `no embedded database in ${dataDir}`, 1);
  const db = await PGlite.create(dataDir);
  try {
    // a query first: the dump is of a cluster that has opened (and recovered, after a kill) cleanly
    await db.query('select 1');
    const blob = await db.dumpDataDir('gzip');
    const bytes = new Uint8Array(await blob.arrayBuffer());
    writeFileSync(outFile, bytes, { mode: 0o600 });
    return { bytes: bytes.length };
  } finally {
    await db.close();
  }
}

/** Restores a `backupDataDir` file into an empty (or absent) data directory; never over live data. */
export async function restoreDataDir(file: string, dataDir: string): Promise<void> {
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0)
    throw new VigilError(
      'VIGIL_ERR_STORE_RESTORE_NOT_EMPTY',
      `${dataDir} is not empty: restore into a new VIGIL_DATA_DIR (or move the old one away first)`,
      1,
    );
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new VigilError(
      'VIGIL_ERR_STORE_RESTORE_UNREADABLE',
      `cannot read ${file}: ${(e as Error).message}`,
      1,
    );
  }
  const db = await PGlite.create({ dataDir, loadDataDir: new Blob([bytes as Uint8Array<ArrayBuffer>]) });
  try {
    await db.query('select 1');
  } finally {
    await db.close();
  }
}
