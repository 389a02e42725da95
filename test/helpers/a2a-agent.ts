// An external A2A agent for tests, built from the official SDK's server parts (DefaultRequestHandler,
// its in-memory task store, JsonRpcTransportHandler) behind node:http on loopback. What it does with
// a message depends on its text:
//   "ask ..."  asks a question (input-required: "which color?"); the follow-up message completes it
//   "hold ..." works until the test calls release(), then completes
//   else       completes at once with "echo: TEXT" (and the data part as JSON, if any)
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  AgentCard,
  formatSSEEvent,
  type Message,
  type Part,
  Role,
  SSE_HEADERS,
  type Task,
  TaskState,
} from '@a2a-js/sdk'
import {
  AgentEvent,
  type AgentExecutor,
  DefaultRequestHandler,
  type ExecutionEventBus,
  InMemoryTaskStore,
  JsonRpcTransportHandler,
  type RequestContext,
  ServerCallContext,
} from '@a2a-js/sdk/server'

const text = (t: string): Part => ({
  content: { $case: 'text', value: t },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
})

function partsText(parts: Part[]): string {
  return parts
    .map((p) =>
      p.content?.$case === 'text'
        ? p.content.value
        : p.content?.$case === 'data'
          ? JSON.stringify(p.content.value)
          : '',
    )
    .filter((t) => t !== '')
    .join(' ')
}

export interface TestA2aAgent {
  url: string
  port: number
  /** every message the agent's executor was given, by message id */
  executed: string[]
  /** ends every "hold" task */
  release(): void
  /** resolves when a "hold" task is being worked on */
  holding: Promise<void>
  /** the agent goes away (connections cut) / comes back on the same port */
  down(): Promise<void>
  up(): Promise<void>
}

export async function startA2aAgent(
  opts: { token?: string; streaming?: boolean; port?: number } = {},
): Promise<TestA2aAgent> {
  let releaseHold!: () => void
  const released = new Promise<void>((r) => {
    releaseHold = r
  })
  let held!: () => void
  const holding = new Promise<void>((r) => {
    held = r
  })
  const executed: string[] = []

  const status = (ctx: RequestContext, bus: ExecutionEventBus, state: TaskState, message?: string) =>
    bus.publish(
      AgentEvent.statusUpdate({
        taskId: ctx.taskId,
        contextId: ctx.contextId,
        status: {
          state,
          timestamp: new Date().toISOString(),
          message:
            message == null
              ? undefined
              : ({
                  messageId: `${ctx.taskId}-${Date.now()}`,
                  contextId: ctx.contextId,
                  taskId: ctx.taskId,
                  role: Role.ROLE_AGENT,
                  parts: [text(message)],
                  metadata: undefined,
                  extensions: [],
                  referenceTaskIds: [],
                } satisfies Message),
        },
        metadata: undefined,
      }),
    )
  const complete = (ctx: RequestContext, bus: ExecutionEventBus, result: string) => {
    bus.publish(
      AgentEvent.artifactUpdate({
        taskId: ctx.taskId,
        contextId: ctx.contextId,
        artifact: {
          artifactId: `${ctx.taskId}-result`,
          name: 'result',
          description: '',
          parts: [text(result)],
          metadata: undefined,
          extensions: [],
        },
        append: false,
        lastChunk: true,
        metadata: undefined,
      }),
    )
    status(ctx, bus, TaskState.TASK_STATE_COMPLETED)
  }

  const executor: AgentExecutor = {
    async execute(ctx, bus) {
      const msg = ctx.userMessage
      executed.push(msg.messageId)
      const said = partsText(msg.parts)
      if (ctx.task == null) {
        const task: Task = {
          id: ctx.taskId,
          contextId: ctx.contextId,
          status: {
            state: TaskState.TASK_STATE_SUBMITTED,
            message: undefined,
            timestamp: new Date().toISOString(),
          },
          artifacts: [],
          history: [msg],
          metadata: undefined,
        }
        bus.publish(AgentEvent.task(task))
      }
      if (ctx.task?.status?.state === TaskState.TASK_STATE_INPUT_REQUIRED)
        complete(ctx, bus, `answer: ${said}`)
      else if (said.startsWith('ask')) status(ctx, bus, TaskState.TASK_STATE_INPUT_REQUIRED, 'which color?')
      else if (said.startsWith('hold')) {
        status(ctx, bus, TaskState.TASK_STATE_WORKING)
        held()
        await released
        complete(ctx, bus, `done: ${said}`)
      } else complete(ctx, bus, `echo: ${said}`)
      bus.finished()
    },
    async cancelTask(taskId, bus) {
      bus.finished()
      void taskId
    },
  }

  let port = opts.port ?? 0
  const card = (): AgentCard =>
    AgentCard.fromJSON({
      name: 'Test helper',
      description: 'echoes, asks, holds',
      version: '1.0.0',
      supportedInterfaces: [
        { url: `http://127.0.0.1:${port}/`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' },
      ],
      capabilities: { streaming: opts.streaming ?? true, pushNotifications: false },
      defaultInputModes: ['text/plain'],
      defaultOutputModes: ['text/plain'],
      skills: [
        { id: 'translate', name: 'Translate', description: 'translates text', tags: ['language'] },
        { id: 'echo', name: 'Echo', description: 'says it back', tags: [] },
      ],
    })
  let handler = new DefaultRequestHandler(card(), new InMemoryTaskStore(), executor)
  let rpc = new JsonRpcTransportHandler(handler)

  const serve = (): Server =>
    createServer(async (req, res) => {
      if (req.method === 'GET' && req.url === '/.well-known/agent-card.json') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(AgentCard.toJSON(card())))
        return
      }
      if (opts.token != null && req.headers.authorization !== `Bearer ${opts.token}`) {
        res.writeHead(401).end()
        return
      }
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const result = await rpc.handle(Buffer.concat(chunks).toString(), new ServerCallContext())
      if (Symbol.asyncIterator in result) {
        res.writeHead(200, SSE_HEADERS)
        try {
          for await (const event of result) res.write(formatSSEEvent(event))
        } catch {
          // the stream ended with the connection
        }
        res.end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(result))
    })

  let server = serve()
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as AddressInfo).port
        resolve()
      })
    })
  await listen()
  if (opts.port == null) {
    // the card names the port, known only now
    handler = new DefaultRequestHandler(card(), new InMemoryTaskStore(), executor)
    rpc = new JsonRpcTransportHandler(handler)
  }
  return {
    get url() {
      return `http://127.0.0.1:${port}/`
    },
    get port() {
      return port
    },
    executed,
    release: releaseHold,
    holding,
    async down() {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    },
    async up() {
      server = serve()
      await listen()
    },
  }
}
