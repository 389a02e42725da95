// The libp2p stack of a ClawLink node, in one place.
import { noise } from '@chainsafe/libp2p-noise'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { type FilesInit, files } from '../protocols/files/index.js'
import { type KnowledgeInit, knowledge } from '../protocols/knowledge/index.js'
import { type PresenceInit, presence } from '../protocols/presence/index.js'
import { type TasksInit, tasks } from '../protocols/tasks/index.js'
import type { MeshKey } from './mesh-key.js'
import { fixXSalsa20 } from './xsalsa20-fix.js'

export interface StackOptions {
  privateKey: PrivateKey
  meshKey: MeshKey
  listen: string[]
  mdns: boolean
  mdnsTag: string
  mdnsInterval: number
  presence: PresenceInit
  tasks: TasksInit
  knowledge: KnowledgeInit
  files: FilesInit
}

export async function createStack(opts: StackOptions) {
  // An open mesh must be asked for explicitly (--open): never fall back to no protector by accident.
  if (opts.meshKey.source !== 'open' && opts.meshKey.fileBytes == null) {
    throw new Error('mesh key missing: refusing to start an open node without --open')
  }
  // pnet's cipher leaks WASM memory under bulk traffic and would crash the node: see xsalsa20-fix.ts
  if (opts.meshKey.fileBytes != null) fixXSalsa20()
  return createLibp2p({
    start: false,
    privateKey: opts.privateKey,
    addresses: { listen: opts.listen },
    transports: [tcp()],
    connectionProtector:
      opts.meshKey.fileBytes != null ? preSharedKey({ psk: opts.meshKey.fileBytes }) : undefined,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: opts.mdns ? [mdns({ serviceTag: opts.mdnsTag, interval: opts.mdnsInterval })] : [],
    connectionManager: { dialTimeout: 10_000 },
    services: {
      identify: identify(),
      ping: ping(),
      // presence depends on `pubsub`: keep it declared first.
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        runOnLimitedConnection: true,
      }),
      presence: presence(opts.presence),
      tasks: tasks(opts.tasks),
      knowledge: knowledge(opts.knowledge),
      files: files(opts.files),
    },
  })
}

export type Stack = Awaited<ReturnType<typeof createStack>>
