import type { IssueType } from './errors.js';

/** FHIR OperationOutcome.issue.severity. */
export type IssueSeverity = 'fatal' | 'error' | 'warning' | 'information';

/** One OperationOutcome issue. */
export interface OutcomeIssue {
  severity: IssueSeverity;
  code: IssueType | string;
  diagnostics?: string;
  expression?: string[];
}

/** An OperationOutcome resource. */
export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  id?: string;
  issue: OutcomeIssue[];
}

/** Build an OperationOutcome with a single issue. */
export function operationOutcome(
  severity: IssueSeverity,
  code: IssueType | string,
  diagnostics: string,
  expression?: string,
): OperationOutcome {
  const issue: OutcomeIssue = { severity, code, diagnostics };
  if (expression !== undefined) issue.expression = [expression];
  return { resourceType: 'OperationOutcome', issue: [issue] };
}
