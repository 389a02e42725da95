import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface AgentCard {
  name: string
  caps: string[]
  description: string
  machine: string
  version: string
  startedAt: bigint
  load: number
  addrs: Uint8Array<ArrayBuffer>[]
  relayOnly: boolean
  hostedAgents?: HostedAgentList
  hub?: boolean
}

export namespace AgentCard {
  let _codec: Codec<AgentCard>

  export const codec = (): Codec<AgentCard> => {
    if (_codec == null) {
      _codec = message<AgentCard>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(10)
          w.string(obj.name)
        }

        if (obj.caps != null && obj.caps.length > 0) {
          for (const value of obj.caps) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.description != null && obj.description !== '')) {
          w.uint32(26)
          w.string(obj.description)
        }

        if ((obj.machine != null && obj.machine !== '')) {
          w.uint32(34)
          w.string(obj.machine)
        }

        if ((obj.version != null && obj.version !== '')) {
          w.uint32(42)
          w.string(obj.version)
        }

        if ((obj.startedAt != null && obj.startedAt !== 0n)) {
          w.uint32(48)
          w.uint64(obj.startedAt)
        }

        if ((obj.load != null && obj.load !== 0)) {
          w.uint32(56)
          w.uint32(obj.load)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(66)
            w.bytes(value)
          }
        }

        if ((obj.relayOnly != null && obj.relayOnly !== false)) {
          w.uint32(72)
          w.bool(obj.relayOnly)
        }

        if (obj.hostedAgents != null) {
          w.uint32(82)
          HostedAgentList.codec().encode(obj.hostedAgents, w)
        }

        if (obj.hub != null) {
          w.uint32(88)
          w.bool(obj.hub)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          name: '',
          caps: [],
          description: '',
          machine: '',
          version: '',
          startedAt: 0n,
          load: 0,
          addrs: [],
          relayOnly: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.name = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.caps != null && obj.caps.length === opts.limits.caps) {
                throw new MaxLengthError('Decode error - repeated field "caps" had too many elements')
              }

              obj.caps.push(reader.string())
              break
            }
            case 3: {
              obj.description = reader.string()
              break
            }
            case 4: {
              obj.machine = reader.string()
              break
            }
            case 5: {
              obj.version = reader.string()
              break
            }
            case 6: {
              obj.startedAt = reader.uint64()
              break
            }
            case 7: {
              obj.load = reader.uint32()
              break
            }
            case 8: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            case 9: {
              obj.relayOnly = reader.bool()
              break
            }
            case 10: {
              obj.hostedAgents = HostedAgentList.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.hostedAgents
              })
              break
            }
            case 11: {
              obj.hub = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          caps: 0,
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 2: {
              if (opts.limits?.caps != null && obj.caps === opts.limits.caps) {
                throw new MaxLengthError('Streaming decode error - repeated field "caps" had too many elements')
              }

              yield {
                field: `${prefix}.caps[]`,
                index: obj.caps,
                value: reader.string()
              }

              obj.caps++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.description`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.machine`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.version`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.startedAt`,
                value: reader.uint64()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.load`,
                value: reader.uint32()
              }
              break
            }
            case 8: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            case 9: {
              yield {
                field: `${prefix}.relayOnly`,
                value: reader.bool()
              }
              break
            }
            case 10: {
              yield * HostedAgentList.codec().stream(reader, reader.uint32(), `${prefix}.hostedAgents`, {
                limits: opts.limits?.hostedAgents
              })

              break
            }
            case 11: {
              yield {
                field: `${prefix}.hub`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AgentCardNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface AgentCardCapsFieldEvent {
    field: '$.caps[]'
    index: number
    value: string
  }

  export interface AgentCardDescriptionFieldEvent {
    field: '$.description'
    value: string
  }

  export interface AgentCardMachineFieldEvent {
    field: '$.machine'
    value: string
  }

  export interface AgentCardVersionFieldEvent {
    field: '$.version'
    value: string
  }

  export interface AgentCardStartedAtFieldEvent {
    field: '$.startedAt'
    value: bigint
  }

  export interface AgentCardLoadFieldEvent {
    field: '$.load'
    value: number
  }

  export interface AgentCardAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface AgentCardRelayOnlyFieldEvent {
    field: '$.relayOnly'
    value: boolean
  }

  export interface AgentCardHostedAgentsAgentsAgentIdFieldEvent {
    field: '$.hostedAgents.agents[].agentId'
    value: string
    index: number
  }

  export interface AgentCardHostedAgentsAgentsNameFieldEvent {
    field: '$.hostedAgents.agents[].name'
    value: string
    index: number
  }

  export interface AgentCardHostedAgentsAgentsCapabilitiesFieldEvent {
    field: '$.hostedAgents.agents[].capabilities[]'
    index: number
    value: string
  }

  export interface AgentCardHostedAgentsAgentsDescriptionFieldEvent {
    field: '$.hostedAgents.agents[].description'
    value: string
    index: number
  }

  export interface AgentCardHostedAgentsAgentsMachineFieldEvent {
    field: '$.hostedAgents.agents[].machine'
    value: string
    index: number
  }

  export interface AgentCardHostedAgentsAgentsHeartbeatAgeFieldEvent {
    field: '$.hostedAgents.agents[].heartbeatAge'
    value: number
    index: number
  }

  export interface AgentCardHubFieldEvent {
    field: '$.hub'
    value: boolean
  }

  export function encode (obj: Partial<AgentCard>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, AgentCard.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AgentCard>): AgentCard {
    return decodeMessage(buf, AgentCard.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AgentCard>): Generator<AgentCardNameFieldEvent | AgentCardCapsFieldEvent | AgentCardDescriptionFieldEvent | AgentCardMachineFieldEvent | AgentCardVersionFieldEvent | AgentCardStartedAtFieldEvent | AgentCardLoadFieldEvent | AgentCardAddrsFieldEvent | AgentCardRelayOnlyFieldEvent | AgentCardHostedAgentsAgentsAgentIdFieldEvent | AgentCardHostedAgentsAgentsNameFieldEvent | AgentCardHostedAgentsAgentsCapabilitiesFieldEvent | AgentCardHostedAgentsAgentsDescriptionFieldEvent | AgentCardHostedAgentsAgentsMachineFieldEvent | AgentCardHostedAgentsAgentsHeartbeatAgeFieldEvent | AgentCardHubFieldEvent> {
    return streamMessage(buf, AgentCard.codec(), opts)
  }
}

export interface HostedAgentList {
  agents: HostedAgent[]
}

export namespace HostedAgentList {
  let _codec: Codec<HostedAgentList>

  export const codec = (): Codec<HostedAgentList> => {
    if (_codec == null) {
      _codec = message<HostedAgentList>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.agents != null && obj.agents.length > 0) {
          for (const value of obj.agents) {
            w.uint32(10)
            HostedAgent.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          agents: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.agents != null && obj.agents.length === opts.limits.agents) {
                throw new MaxLengthError('Decode error - repeated field "agents" had too many elements')
              }

              obj.agents.push(HostedAgent.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.agents$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          agents: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.agents != null && obj.agents === opts.limits.agents) {
                throw new MaxLengthError('Streaming decode error - repeated field "agents" had too many elements')
              }

              for (const evt of HostedAgent.codec().stream(reader, reader.uint32(), `${prefix}.agents[]`, {
                limits: opts.limits?.agents$
              })) {
                yield {
                  ...evt,
                  index: obj.agents
                }
              }

              obj.agents++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HostedAgentListAgentsAgentIdFieldEvent {
    field: '$.agents[].agentId'
    value: string
    index: number
  }

  export interface HostedAgentListAgentsNameFieldEvent {
    field: '$.agents[].name'
    value: string
    index: number
  }

  export interface HostedAgentListAgentsCapabilitiesFieldEvent {
    field: '$.agents[].capabilities[]'
    index: number
    value: string
  }

  export interface HostedAgentListAgentsDescriptionFieldEvent {
    field: '$.agents[].description'
    value: string
    index: number
  }

  export interface HostedAgentListAgentsMachineFieldEvent {
    field: '$.agents[].machine'
    value: string
    index: number
  }

  export interface HostedAgentListAgentsHeartbeatAgeFieldEvent {
    field: '$.agents[].heartbeatAge'
    value: number
    index: number
  }

  export function encode (obj: Partial<HostedAgentList>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HostedAgentList.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HostedAgentList>): HostedAgentList {
    return decodeMessage(buf, HostedAgentList.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HostedAgentList>): Generator<HostedAgentListAgentsAgentIdFieldEvent | HostedAgentListAgentsNameFieldEvent | HostedAgentListAgentsCapabilitiesFieldEvent | HostedAgentListAgentsDescriptionFieldEvent | HostedAgentListAgentsMachineFieldEvent | HostedAgentListAgentsHeartbeatAgeFieldEvent> {
    return streamMessage(buf, HostedAgentList.codec(), opts)
  }
}

export interface HostedAgent {
  agentId: string
  name: string
  capabilities: string[]
  description: string
  machine: string
  heartbeatAge: number
}

export namespace HostedAgent {
  let _codec: Codec<HostedAgent>

  export const codec = (): Codec<HostedAgent> => {
    if (_codec == null) {
      _codec = message<HostedAgent>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.agentId != null && obj.agentId !== '')) {
          w.uint32(10)
          w.string(obj.agentId)
        }

        if ((obj.name != null && obj.name !== '')) {
          w.uint32(18)
          w.string(obj.name)
        }

        if (obj.capabilities != null && obj.capabilities.length > 0) {
          for (const value of obj.capabilities) {
            w.uint32(26)
            w.string(value)
          }
        }

        if ((obj.description != null && obj.description !== '')) {
          w.uint32(34)
          w.string(obj.description)
        }

        if ((obj.machine != null && obj.machine !== '')) {
          w.uint32(42)
          w.string(obj.machine)
        }

        if ((obj.heartbeatAge != null && obj.heartbeatAge !== 0)) {
          w.uint32(48)
          w.uint32(obj.heartbeatAge)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          agentId: '',
          name: '',
          capabilities: [],
          description: '',
          machine: '',
          heartbeatAge: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.agentId = reader.string()
              break
            }
            case 2: {
              obj.name = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.capabilities != null && obj.capabilities.length === opts.limits.capabilities) {
                throw new MaxLengthError('Decode error - repeated field "capabilities" had too many elements')
              }

              obj.capabilities.push(reader.string())
              break
            }
            case 4: {
              obj.description = reader.string()
              break
            }
            case 5: {
              obj.machine = reader.string()
              break
            }
            case 6: {
              obj.heartbeatAge = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          capabilities: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.agentId`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.name`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.capabilities != null && obj.capabilities === opts.limits.capabilities) {
                throw new MaxLengthError('Streaming decode error - repeated field "capabilities" had too many elements')
              }

              yield {
                field: `${prefix}.capabilities[]`,
                index: obj.capabilities,
                value: reader.string()
              }

              obj.capabilities++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.description`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.machine`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.heartbeatAge`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface HostedAgentAgentIdFieldEvent {
    field: '$.agentId'
    value: string
  }

  export interface HostedAgentNameFieldEvent {
    field: '$.name'
    value: string
  }

  export interface HostedAgentCapabilitiesFieldEvent {
    field: '$.capabilities[]'
    index: number
    value: string
  }

  export interface HostedAgentDescriptionFieldEvent {
    field: '$.description'
    value: string
  }

  export interface HostedAgentMachineFieldEvent {
    field: '$.machine'
    value: string
  }

  export interface HostedAgentHeartbeatAgeFieldEvent {
    field: '$.heartbeatAge'
    value: number
  }

  export function encode (obj: Partial<HostedAgent>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, HostedAgent.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HostedAgent>): HostedAgent {
    return decodeMessage(buf, HostedAgent.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HostedAgent>): Generator<HostedAgentAgentIdFieldEvent | HostedAgentNameFieldEvent | HostedAgentCapabilitiesFieldEvent | HostedAgentDescriptionFieldEvent | HostedAgentMachineFieldEvent | HostedAgentHeartbeatAgeFieldEvent> {
    return streamMessage(buf, HostedAgent.codec(), opts)
  }
}

export interface PresenceMessage {
  type: PresenceMessage.Type
  card?: AgentCard
  seq: bigint
  signature?: Uint8Array<ArrayBuffer>
  memberList?: boolean
  suspects: Suspect[]
}

export namespace PresenceMessage {
  export enum Type {
    ANNOUNCE = 'ANNOUNCE',
    LEAVE = 'LEAVE'
  }

  enum __TypeValues {
    ANNOUNCE = 0,
    LEAVE = 1
  }

  export namespace Type {
    export const codec = (): Codec<Type> => {
      return enumeration<Type>(__TypeValues)
    }
  }

  let _codec: Codec<PresenceMessage>

  export const codec = (): Codec<PresenceMessage> => {
    if (_codec == null) {
      _codec = message<PresenceMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.type != null && __TypeValues[obj.type] !== 0) {
          w.uint32(8)
          PresenceMessage.Type.codec().encode(obj.type, w)
        }

        if (obj.card != null) {
          w.uint32(18)
          AgentCard.codec().encode(obj.card, w)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if (obj.signature != null) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if (obj.memberList != null) {
          w.uint32(40)
          w.bool(obj.memberList)
        }

        if (obj.suspects != null && obj.suspects.length > 0) {
          for (const value of obj.suspects) {
            w.uint32(50)
            Suspect.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          type: Type.ANNOUNCE,
          seq: 0n,
          suspects: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.type = PresenceMessage.Type.codec().decode(reader)
              break
            }
            case 2: {
              obj.card = AgentCard.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.card
              })
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            case 5: {
              obj.memberList = reader.bool()
              break
            }
            case 6: {
              if (opts.limits?.suspects != null && obj.suspects.length === opts.limits.suspects) {
                throw new MaxLengthError('Decode error - repeated field "suspects" had too many elements')
              }

              obj.suspects.push(Suspect.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.suspects$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          suspects: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.type`,
                value: PresenceMessage.Type.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield * AgentCard.codec().stream(reader, reader.uint32(), `${prefix}.card`, {
                limits: opts.limits?.card
              })

              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.memberList`,
                value: reader.bool()
              }
              break
            }
            case 6: {
              if (opts.limits?.suspects != null && obj.suspects === opts.limits.suspects) {
                throw new MaxLengthError('Streaming decode error - repeated field "suspects" had too many elements')
              }

              for (const evt of Suspect.codec().stream(reader, reader.uint32(), `${prefix}.suspects[]`, {
                limits: opts.limits?.suspects$
              })) {
                yield {
                  ...evt,
                  index: obj.suspects
                }
              }

              obj.suspects++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface PresenceMessageTypeFieldEvent {
    field: '$.type'
    value: PresenceMessage.Type
  }

  export interface PresenceMessageCardNameFieldEvent {
    field: '$.card.name'
    value: string
  }

  export interface PresenceMessageCardCapsFieldEvent {
    field: '$.card.caps[]'
    index: number
    value: string
  }

  export interface PresenceMessageCardDescriptionFieldEvent {
    field: '$.card.description'
    value: string
  }

  export interface PresenceMessageCardMachineFieldEvent {
    field: '$.card.machine'
    value: string
  }

  export interface PresenceMessageCardVersionFieldEvent {
    field: '$.card.version'
    value: string
  }

  export interface PresenceMessageCardStartedAtFieldEvent {
    field: '$.card.startedAt'
    value: bigint
  }

  export interface PresenceMessageCardLoadFieldEvent {
    field: '$.card.load'
    value: number
  }

  export interface PresenceMessageCardAddrsFieldEvent {
    field: '$.card.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface PresenceMessageCardRelayOnlyFieldEvent {
    field: '$.card.relayOnly'
    value: boolean
  }

  export interface PresenceMessageCardHostedAgentsAgentsAgentIdFieldEvent {
    field: '$.card.hostedAgents.agents[].agentId'
    value: string
    index: number
  }

  export interface PresenceMessageCardHostedAgentsAgentsNameFieldEvent {
    field: '$.card.hostedAgents.agents[].name'
    value: string
    index: number
  }

  export interface PresenceMessageCardHostedAgentsAgentsCapabilitiesFieldEvent {
    field: '$.card.hostedAgents.agents[].capabilities[]'
    index: number
    value: string
  }

  export interface PresenceMessageCardHostedAgentsAgentsDescriptionFieldEvent {
    field: '$.card.hostedAgents.agents[].description'
    value: string
    index: number
  }

  export interface PresenceMessageCardHostedAgentsAgentsMachineFieldEvent {
    field: '$.card.hostedAgents.agents[].machine'
    value: string
    index: number
  }

  export interface PresenceMessageCardHostedAgentsAgentsHeartbeatAgeFieldEvent {
    field: '$.card.hostedAgents.agents[].heartbeatAge'
    value: number
    index: number
  }

  export interface PresenceMessageCardHubFieldEvent {
    field: '$.card.hub'
    value: boolean
  }

  export interface PresenceMessageSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface PresenceMessageSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface PresenceMessageMemberListFieldEvent {
    field: '$.memberList'
    value: boolean
  }

  export interface PresenceMessageSuspectsPeerFieldEvent {
    field: '$.suspects[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface PresenceMessageSuspectsStartedAtFieldEvent {
    field: '$.suspects[].startedAt'
    value: bigint
    index: number
  }

  export interface PresenceMessageSuspectsSeqFieldEvent {
    field: '$.suspects[].seq'
    value: bigint
    index: number
  }

  export function encode (obj: Partial<PresenceMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, PresenceMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceMessage>): PresenceMessage {
    return decodeMessage(buf, PresenceMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PresenceMessage>): Generator<PresenceMessageTypeFieldEvent | PresenceMessageCardNameFieldEvent | PresenceMessageCardCapsFieldEvent | PresenceMessageCardDescriptionFieldEvent | PresenceMessageCardMachineFieldEvent | PresenceMessageCardVersionFieldEvent | PresenceMessageCardStartedAtFieldEvent | PresenceMessageCardLoadFieldEvent | PresenceMessageCardAddrsFieldEvent | PresenceMessageCardRelayOnlyFieldEvent | PresenceMessageCardHostedAgentsAgentsAgentIdFieldEvent | PresenceMessageCardHostedAgentsAgentsNameFieldEvent | PresenceMessageCardHostedAgentsAgentsCapabilitiesFieldEvent | PresenceMessageCardHostedAgentsAgentsDescriptionFieldEvent | PresenceMessageCardHostedAgentsAgentsMachineFieldEvent | PresenceMessageCardHostedAgentsAgentsHeartbeatAgeFieldEvent | PresenceMessageCardHubFieldEvent | PresenceMessageSeqFieldEvent | PresenceMessageSignatureFieldEvent | PresenceMessageMemberListFieldEvent | PresenceMessageSuspectsPeerFieldEvent | PresenceMessageSuspectsStartedAtFieldEvent | PresenceMessageSuspectsSeqFieldEvent> {
    return streamMessage(buf, PresenceMessage.codec(), opts)
  }
}

export interface Suspect {
  peer: Uint8Array<ArrayBuffer>
  startedAt: bigint
  seq: bigint
}

export namespace Suspect {
  let _codec: Codec<Suspect>

  export const codec = (): Codec<Suspect> => {
    if (_codec == null) {
      _codec = message<Suspect>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peer)
        }

        if ((obj.startedAt != null && obj.startedAt !== 0n)) {
          w.uint32(16)
          w.uint64(obj.startedAt)
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(24)
          w.uint64(obj.seq)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peer: uint8ArrayAlloc(0),
          startedAt: 0n,
          seq: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peer = reader.bytes()
              break
            }
            case 2: {
              obj.startedAt = reader.uint64()
              break
            }
            case 3: {
              obj.seq = reader.uint64()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.startedAt`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SuspectPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SuspectStartedAtFieldEvent {
    field: '$.startedAt'
    value: bigint
  }

  export interface SuspectSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export function encode (obj: Partial<Suspect>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Suspect.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Suspect>): Suspect {
    return decodeMessage(buf, Suspect.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Suspect>): Generator<SuspectPeerFieldEvent | SuspectStartedAtFieldEvent | SuspectSeqFieldEvent> {
    return streamMessage(buf, Suspect.codec(), opts)
  }
}

export interface MemberList {
  digests: Uint8Array<ArrayBuffer>
}

export namespace MemberList {
  let _codec: Codec<MemberList>

  export const codec = (): Codec<MemberList> => {
    if (_codec == null) {
      _codec = message<MemberList>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.digests != null && obj.digests.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.digests)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          digests: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.digests = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.digests`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface MemberListDigestsFieldEvent {
    field: '$.digests'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<MemberList>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MemberList.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberList>): MemberList {
    return decodeMessage(buf, MemberList.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MemberList>): Generator<MemberListDigestsFieldEvent> {
    return streamMessage(buf, MemberList.codec(), opts)
  }
}

export interface RelayedCard {
  author: Uint8Array<ArrayBuffer>
  message: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
  age: number
}

export namespace RelayedCard {
  let _codec: Codec<RelayedCard>

  export const codec = (): Codec<RelayedCard> => {
    if (_codec == null) {
      _codec = message<RelayedCard>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.author != null && obj.author.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.author)
        }

        if ((obj.message != null && obj.message.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.message)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if ((obj.age != null && obj.age !== 0)) {
          w.uint32(32)
          w.uint32(obj.age)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          author: uint8ArrayAlloc(0),
          message: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0),
          age: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.author = reader.bytes()
              break
            }
            case 2: {
              obj.message = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            case 4: {
              obj.age = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.author`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.message`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.age`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RelayedCardAuthorFieldEvent {
    field: '$.author'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RelayedCardMessageFieldEvent {
    field: '$.message'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RelayedCardSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RelayedCardAgeFieldEvent {
    field: '$.age'
    value: number
  }

  export function encode (obj: Partial<RelayedCard>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RelayedCard.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayedCard>): RelayedCard {
    return decodeMessage(buf, RelayedCard.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayedCard>): Generator<RelayedCardAuthorFieldEvent | RelayedCardMessageFieldEvent | RelayedCardSignatureFieldEvent | RelayedCardAgeFieldEvent> {
    return streamMessage(buf, RelayedCard.codec(), opts)
  }
}

export interface RelayBatch {
  cards: RelayedCard[]
  last: boolean
}

export namespace RelayBatch {
  let _codec: Codec<RelayBatch>

  export const codec = (): Codec<RelayBatch> => {
    if (_codec == null) {
      _codec = message<RelayBatch>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.cards != null && obj.cards.length > 0) {
          for (const value of obj.cards) {
            w.uint32(10)
            RelayedCard.codec().encode(value, w)
          }
        }

        if ((obj.last != null && obj.last !== false)) {
          w.uint32(16)
          w.bool(obj.last)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cards: [],
          last: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.cards != null && obj.cards.length === opts.limits.cards) {
                throw new MaxLengthError('Decode error - repeated field "cards" had too many elements')
              }

              obj.cards.push(RelayedCard.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cards$
              }))
              break
            }
            case 2: {
              obj.last = reader.bool()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          cards: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.cards != null && obj.cards === opts.limits.cards) {
                throw new MaxLengthError('Streaming decode error - repeated field "cards" had too many elements')
              }

              for (const evt of RelayedCard.codec().stream(reader, reader.uint32(), `${prefix}.cards[]`, {
                limits: opts.limits?.cards$
              })) {
                yield {
                  ...evt,
                  index: obj.cards
                }
              }

              obj.cards++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.last`,
                value: reader.bool()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RelayBatchCardsAuthorFieldEvent {
    field: '$.cards[].author'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RelayBatchCardsMessageFieldEvent {
    field: '$.cards[].message'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RelayBatchCardsSignatureFieldEvent {
    field: '$.cards[].signature'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RelayBatchCardsAgeFieldEvent {
    field: '$.cards[].age'
    value: number
    index: number
  }

  export interface RelayBatchLastFieldEvent {
    field: '$.last'
    value: boolean
  }

  export function encode (obj: Partial<RelayBatch>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RelayBatch.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayBatch>): RelayBatch {
    return decodeMessage(buf, RelayBatch.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayBatch>): Generator<RelayBatchCardsAuthorFieldEvent | RelayBatchCardsMessageFieldEvent | RelayBatchCardsSignatureFieldEvent | RelayBatchCardsAgeFieldEvent | RelayBatchLastFieldEvent> {
    return streamMessage(buf, RelayBatch.codec(), opts)
  }
}
