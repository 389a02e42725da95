// The A2A bridge, inbound half: `clawlink node --a2a [HOST:]PORT`. Any A2A client (v1.0 of the
// protocol, through the official SDK's server handlers) reaches every agent the mesh lists; its tasks
// are durable mesh tasks of the same id. See docs/a2a.md.
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ClawLinkNode } from '../core/index.js'
import { ConfigError } from '../home/errors.js'
import type { TaskRow } from '../protocols/tasks/index.js'
import type { BridgeParts } from './executor.js'
import { Followers, MeshBusManager } from './follow.js'
import { PushOutbox, type PushTimings } from './push.js'
import { MeshPushStore, MeshTaskStore } from './sdk-stores.js'
import { bridgeApp, listen } from './server.js'
import { BridgeStore } from './store.js'

export interface A2aInit {
  host: string
  port: number
  token?: string
  /** where the token came from, for the startup line */
  tokenFrom?: string
  push?: PushTimings
}

export class A2aBridge {
  private readonly parts: BridgeParts
  private server?: Server
  address?: { host: string; port: number }

  constructor(
    private readonly node: ClawLinkNode,
    private readonly init: A2aInit,
  ) {
    const store = new BridgeStore(node.store.db)
    const followers = new Followers(node)
    const pushStore = new MeshPushStore(store)
    this.parts = {
      node,
      store,
      taskStore: new MeshTaskStore(node, store),
      pushStore,
      followers,
      buses: new MeshBusManager(node, store, followers),
      push: new PushOutbox(node, store, pushStore, init.push),
    }
  }

  /**
   * Call in createNode's beforeStart: a bridged task's update is queued for its webhooks in the
   * transaction that stores it. The event still reaches the node's inbox (its agent delegated it).
   */
  register(): void {
    this.node.mailbox.register({
      takeTask: (event) => {
        if (event.type === 'task_update') this.parts.push.stateChanged(event.row)
        return false
      },
    })
    this.node.onStop('before-network', () => this.stop())
  }

  async start(): Promise<void> {
    const { node, init } = this
    const onError = (err: Error) =>
      node.log.emit('a2a_error', { message: err.message }, `A2A bridge error: ${err.message}`, 'error')
    this.parts.followers.start()
    node.tasks.addEventListener('task:changed', this.onChanged)
    this.parts.push.start()
    try {
      this.server = await listen(
        bridgeApp({ parts: this.parts, token: init.token, onError }),
        init.host,
        init.port,
      )
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'EADDRINUSE' ? 'the address is in use' : (code ?? (err as Error).message)
      throw new ConfigError(`--a2a cannot listen on ${init.host}:${init.port}: ${why}`)
    }
    const addr = this.server.address() as AddressInfo
    this.address = { host: addr.address, port: addr.port }
    const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`
    const auth = init.token != null
    node.log.emit(
      'a2a_listening',
      {
        host: addr.address,
        port: addr.port,
        url,
        auth,
        token_from: auth ? (init.tokenFrom ?? '--a2a-token') : null,
      },
      `A2A endpoint listening on ${url}${auth ? ` (bearer token required, from ${init.tokenFrom ?? '--a2a-token'})` : ''}`,
    )
  }

  /**
   * A cancel (A2A CancelTask or `clawlink cancel`) makes no watch event: its push and its followers'
   * news come from here.
   */
  private readonly onChanged = (e: CustomEvent<TaskRow>): void => {
    const row = e.detail
    if (row.direction !== 'sent') return
    if (row.state === 'canceled') this.parts.push.stateChanged(row)
    this.parts.followers.nudge(row.id)
  }

  async stop(): Promise<void> {
    this.node.tasks.removeEventListener('task:changed', this.onChanged)
    this.parts.push.stop()
    this.parts.followers.stop()
    const server = this.server
    this.server = undefined
    if (server == null) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
