// Runs code once a tool call's answer has gone out to the MCP client, or once it never will. The SDK
// writes the answer after the handler returns, and drops it if the client cancelled the call meanwhile:
// what the handler took from the node (a poll's events) is only the agent's once the answer is written.
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'

/** `sent`: the answer was written to the transport (true), or was dropped or failed (false). */
export type AnswerHook = (sent: boolean) => void

export class AnswerHooks {
  private readonly pending = new Map<RequestId, AnswerHook>()

  /** Watches what `transport` sends: the answer to a call with a hook fires it. */
  watch(transport: Transport): void {
    const send = transport.send.bind(transport)
    transport.send = async (message, options) => {
      const id = answerId(message)
      try {
        await send(message, options)
      } catch (err) {
        if (id != null) this.fire(id, false)
        throw err
      }
      if (id != null) this.fire(id, true)
    }
    const onclose = transport.onclose
    transport.onclose = () => {
      this.closeAll()
      onclose?.()
    }
  }

  /** Runs `hook` once the answer to call `id` is written, or with false if `signal` cancels the call. */
  after(id: RequestId, signal: AbortSignal, hook: AnswerHook): void {
    this.pending.set(id, hook)
    if (signal.aborted) this.fire(id, false)
    else signal.addEventListener('abort', () => this.fire(id, false), { once: true })
  }

  /** The transport has closed: no answer still to come will go out. */
  private closeAll(): void {
    for (const id of [...this.pending.keys()]) this.fire(id, false)
  }

  private fire(id: RequestId, sent: boolean): void {
    const hook = this.pending.get(id)
    if (hook == null) return
    this.pending.delete(id)
    try {
      hook(sent)
    } catch {
      // a hook's failure is its own (each catches what it cares about)
    }
  }
}

/** The id of a result or error answer; undefined for requests and notifications. */
function answerId(message: JSONRPCMessage): RequestId | undefined {
  return 'id' in message && ('result' in message || 'error' in message) ? message.id : undefined
}
