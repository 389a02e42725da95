/** The HTTP status of each error code the control API (and the v1 adapter) answers with for a task rule. */
export const TASK_ERROR_STATUS: Record<string, number> = {
  not_found: 404,
  ambiguous: 409,
  final: 409,
  invalid: 400,
  not_yours: 403,
  too_large: 413,
  conflict: 409,
}
