// A task id the delegating agent may choose, so that repeating a request cut short (a crash, a dropped
// connection, a tool timeout) returns the task it created instead of sending a second one.
export const TASK_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/
export const TASK_ID_RULE = '8-64 of letters, digits, - and _'
