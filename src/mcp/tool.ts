// What every MCP tool is made of: its definition, its reply, how it waits on the node.
import * as z from 'zod'
import type { ControlClient } from '../client/control-client.js'
import type { AnswerHook } from './answer-hooks.js'

/** The longest a delegate or poll call may wait: long enough to be useful, short enough for MCP clients. */
export const MAX_WAIT_SECONDS = 300
/** Text a file_put may carry inline; larger content goes by `path`. */
export const MAX_INLINE_CONTENT = 1024 * 1024
/** What file_get returns as text by default, and at most. */
export const DEFAULT_TEXT_BYTES = 64 * 1024
export const MAX_TEXT_BYTES = 1024 * 1024
/** Names, ids, capabilities, paths and other short strings. */
export const SHORT = 1024

export interface ToolContext {
  /** The node's control client, chosen at each call: the node may start or restart after the server. */
  api(): ControlClient
  /** Aborted when the client cancels the call. */
  signal: AbortSignal
  /** Tells the client a long wait is still going; returns the function that stops it. */
  keepAlive(seconds: number): () => void
  /** Runs `hook` once this call's answer has been written to the client, or with false if it never is. */
  afterAnswer(hook: AnswerHook): void
}

export interface ToolReply {
  /** text blocks, first to last */
  text: string[]
}

/**
 * MCP tool annotations: hints a client uses to decide whether a call needs the user's approval. Each is
 * stated for every tool, never left to the protocol's defaults (which assume the worst).
 */
export interface Hints {
  /** a short name for people */
  title: string
  /** changes nothing, here or in the mesh */
  readOnlyHint: boolean
  /** may replace or withdraw something (false: only adds) */
  destructiveHint: boolean
  /** the same call again has no further effect */
  idempotentHint: boolean
  /** reaches other agents of the mesh, not just this node */
  openWorldHint: boolean
}

export interface Tool {
  name: string
  description: string
  annotations: Hints
  input: z.ZodObject
  run(args: unknown, ctx: ToolContext): Promise<ToolReply>
}

/** Types a tool's handler by its schema, then erases the type so every tool fits one list. */
export function tool<S extends z.ZodRawShape>(def: {
  name: string
  description: string
  annotations: Hints
  input: S
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<ToolReply>
}): Tool {
  return {
    name: def.name,
    description: def.description,
    annotations: def.annotations,
    // strict: a misspelt argument is an error the model can fix, not a value silently dropped
    input: z.strictObject(def.input),
    run: (args, ctx) => def.run(args as z.infer<z.ZodObject<S>>, ctx),
  }
}

export const json = (value: unknown): ToolReply => ({ text: [JSON.stringify(value, null, 2)] })

export const short = (what: string) => z.string().min(1).max(SHORT).describe(what)
export const waitSeconds = (what: string) =>
  z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe(`${what} (0-${MAX_WAIT_SECONDS} seconds)`)

/** Runs a wait with keep-alive progress for the client. */
export async function waiting<T>(ctx: ToolContext, seconds: number, call: Promise<T>): Promise<T> {
  const stop = seconds > 0 ? ctx.keepAlive(seconds) : () => {}
  try {
    return await call
  } finally {
    stop()
  }
}
