import type { FastifyRequest } from 'fastify';
import { type AuditAgent, type AuditInput, type AuditOutcome, agentOf } from '../audit/audit-event.ts';
import type { AuditLog } from '../audit/audit-log.ts';

/** What a route did, as the audit log names it (kind, subtype, action), without the outcome. */
export type AuditWhat = Pick<AuditInput, 'kind' | 'subtype' | 'action'>;
/** What else a successful record carries. */
export type AuditDetail = Pick<AuditInput, 'outcomeDesc' | 'patientId' | 'entities'>;

/**
 * Audit records for a route's own events: the agent is the signed-in principal (or the one given,
 * e.g. the account a sign-in tried) and the request id ties the record to the request.
 */
export function requestAudit(log: Pick<AuditLog, 'record'>) {
  const record = (
    request: FastifyRequest,
    e: Omit<AuditInput, 'agent' | 'requestId'>,
    agent?: AuditAgent,
  ): Promise<void> =>
    log.record({ ...e, agent: agent ?? agentOf(request.principal, request.ip), requestId: request.id });
  const succeeded = (request: FastifyRequest, what: AuditWhat, detail?: AuditDetail, agent?: AuditAgent) =>
    record(request, { ...what, outcome: 'success', ...detail }, agent);
  const failed = (
    request: FastifyRequest,
    what: AuditWhat,
    outcomeDesc: string,
    agent?: AuditAgent,
    outcome: Exclude<AuditOutcome, 'success'> = 'minor',
  ) => record(request, { ...what, outcome, outcomeDesc }, agent);
  /**
   * Runs `fn`; if it throws, records the failure (`failure`) and rethrows; otherwise records the
   * success (with `detail`) and returns what `fn` returned.
   */
  const action = async <T>(
    request: FastifyRequest,
    what: AuditWhat,
    agent: AuditAgent | undefined,
    fn: () => Promise<T>,
    outcomes: { failure: string; success?: AuditDetail },
  ): Promise<T> => {
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      await failed(request, what, outcomes.failure, agent);
      throw e;
    }
    await succeeded(request, what, outcomes.success, agent);
    return result;
  };
  return { record, succeeded, failed, action };
}
