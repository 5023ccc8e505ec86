import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/**
 * Paths redacted from every log line. Patient data (names, identifiers, birth dates, raw payloads,
 * values tied to a patient) and secrets never reach the logs; log ids and counts instead.
 */
export const redactPaths = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'client_secret',
  'secretsKey',
  '*.secretsKey',
  'gatewaySecret',
  '*.gatewaySecret',
  '*.*.gatewaySecret',
  '*.client_secret',
  'totp',
  '*.totp',
  'authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'payload',
  '*.payload',
  'body',
  '*.body',
  'value',
  '*.value',
  'name',
  '*.name',
  'birthDate',
  '*.birthDate',
  'identifier',
  '*.identifier',
  'patient',
  '*.patient',
  'resource',
  '*.resource',
];

export function createLogger(
  level: LoggerOptions['level'] = 'info',
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    level,
    base: { service: 'vigil' },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(opts, destination) : pino(opts);
}
