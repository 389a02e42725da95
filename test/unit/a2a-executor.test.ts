// The bridge's executor when the mesh refuses a delegation: the A2A client gets a failed task saying
// why, and nothing is thrown (the SDK would print the error with its stack on the node's stderr).
import { TaskState } from '@a2a-js/sdk'
import { type AgentExecutionEvent, DefaultExecutionEventBus, RequestContext } from '@a2a-js/sdk/server'
import { describe, expect, it } from 'vitest'
import { type BridgeParts, MeshExecutor, requestedTtl } from '../../src/a2a/executor.js'
import { userMessage } from '../helpers/a2a.js'

describe('a2a executor', () => {
  it('turns a refused delegation into a failed task', async () => {
    const parts = {
      node: {
        taskService: {
          delegate: async () => {
            throw new Error('several agents are named helper')
          },
        },
      },
    } as unknown as BridgeParts
    const executor = new MeshExecutor(parts, { to: 'helper', name: 'helper' })
    const bus = new DefaultExecutionEventBus()
    const events: AgentExecutionEvent[] = []
    bus.on('event', (e) => events.push(e))
    const msg = userMessage('do it', { taskId: 'task-0001', contextId: 'ctx' })
    const ctx = new RequestContext(
      { tenant: '', message: msg, configuration: undefined, metadata: {} },
      'task-0001',
      'ctx',
      {} as never,
    )
    await executor.execute(ctx, bus)
    expect(events).toHaveLength(1)
    const e = events[0]!
    if (e.kind !== 'task') throw new Error(`got ${e.kind}`)
    expect(e.data.id).toBe('task-0001')
    expect(e.data.status?.state).toBe(TaskState.TASK_STATE_FAILED)
    expect(e.data.status?.message?.parts[0]?.content).toEqual({
      $case: 'text',
      value: 'the mesh refused the task: several agents are named helper',
    })
  })

  it('reads metadata.clawlink.ttl (seconds) and refuses anything else there', () => {
    expect(requestedTtl(undefined)).toBeUndefined()
    expect(requestedTtl({ other: 1, clawlink: {} })).toBeUndefined()
    expect(requestedTtl({ clawlink: { ttl: 2 } })).toBe(2000)
    expect(requestedTtl({ clawlink: { ttl: 0.5 } })).toBe(500)
    for (const ttl of ['2', 0, -1, Number.NaN, 31 * 24 * 3600])
      expect(() => requestedTtl({ clawlink: { ttl } })).toThrow(/metadata.clawlink.ttl must be/)
  })
})
