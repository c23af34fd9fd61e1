/**
 * The one error type of Carnet: an HTTP status, a FHIR issue code, a message
 * and the FHIRPath expression of the offending element. Turned into an
 * OperationOutcome in exactly one place (`toOperationOutcome`).
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

export type IssueCode = OperationOutcomeIssue['code'];

export interface IssueDetail {
  severity?: OperationOutcomeIssue['severity'];
  code: IssueCode;
  message: string;
  expression?: string[];
}

export class FhirError extends Error {
  readonly issues: IssueDetail[];
  readonly headers: Record<string, string>;

  constructor(readonly status: number, code: IssueCode, message: string, expression?: string | string[], headers: Record<string, string> = {}) {
    super(message);
    const expr = expression === undefined ? undefined : Array.isArray(expression) ? expression : [expression];
    this.issues = [{ severity: 'error', code, message, expression: expr }];
    this.headers = headers;
  }

  static withIssues(status: number, issues: IssueDetail[]): FhirError {
    const first = issues[0] ?? { code: 'invalid', message: 'invalid' };
    const error = new FhirError(status, first.code, first.message, first.expression);
    error.issues.splice(0, error.issues.length, ...issues);
    return error;
  }
}

export const badRequest = (message: string, expression?: string | string[]) => new FhirError(400, 'invalid', message, expression);
export const notFound = (message: string) => new FhirError(404, 'not-found', message);
export const forbidden = (message: string) => new FhirError(403, 'forbidden', message);
export const unprocessable = (message: string, expression?: string | string[]) => new FhirError(422, 'processing', message, expression);
export const conflict = (message: string) => new FhirError(409, 'conflict', message);
/** 405 with the `Allow` header RFC 9110 §15.5.6 requires (by default the read-only methods). */
export const notAllowed = (message: string, allow = 'GET, HEAD') => new FhirError(405, 'not-supported', message, undefined, { Allow: allow });

export function toOperationOutcome(issues: IssueDetail[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((issue) => ({
      severity: issue.severity ?? 'error',
      code: issue.code,
      diagnostics: issue.message,
      details: { text: issue.message },
      ...(issue.expression && issue.expression.length > 0 ? { expression: issue.expression } : {}),
    })),
  };
}

export function informational(message: string): OperationOutcome {
  return toOperationOutcome([{ severity: 'information', code: 'informational', message }]);
}
