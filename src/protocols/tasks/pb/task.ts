import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface TaskMessage {
  kind: TaskMessage.Kind
  msgId: string
  taskId: string
  task: string
  context: string
  priority: TaskMessage.Priority
  createdAt: bigint
  expiresAt: bigint
  state: TaskMessage.State
  result: string
  reason: string
  fromHostedAgent?: string
  toHostedAgent?: string
  text?: string
}

export namespace TaskMessage {
  export enum Kind {
    DELEGATE = 'DELEGATE',
    UPDATE = 'UPDATE',
    CANCEL = 'CANCEL',
    REPLY = 'REPLY'
  }

  enum __KindValues {
    DELEGATE = 0,
    UPDATE = 1,
    CANCEL = 2,
    REPLY = 3
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  export enum Priority {
    LOW = 'LOW',
    NORMAL = 'NORMAL',
    HIGH = 'HIGH',
    URGENT = 'URGENT'
  }

  enum __PriorityValues {
    LOW = 0,
    NORMAL = 1,
    HIGH = 2,
    URGENT = 3
  }

  export namespace Priority {
    export const codec = (): Codec<Priority> => {
      return enumeration<Priority>(__PriorityValues)
    }
  }

  export enum State {
    UNSPECIFIED = 'UNSPECIFIED',
    WORKING = 'WORKING',
    COMPLETED = 'COMPLETED',
    FAILED = 'FAILED',
    REJECTED = 'REJECTED',
    CANCELED = 'CANCELED',
    INPUT_REQUIRED = 'INPUT_REQUIRED'
  }

  enum __StateValues {
    UNSPECIFIED = 0,
    WORKING = 1,
    COMPLETED = 2,
    FAILED = 3,
    REJECTED = 4,
    CANCELED = 5,
    INPUT_REQUIRED = 6
  }

  export namespace State {
    export const codec = (): Codec<State> => {
      return enumeration<State>(__StateValues)
    }
  }

  let _codec: Codec<TaskMessage>

  export const codec = (): Codec<TaskMessage> => {
    if (_codec == null) {
      _codec = message<TaskMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          TaskMessage.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.msgId != null && obj.msgId !== '')) {
          w.uint32(18)
          w.string(obj.msgId)
        }

        if ((obj.taskId != null && obj.taskId !== '')) {
          w.uint32(26)
          w.string(obj.taskId)
        }

        if ((obj.task != null && obj.task !== '')) {
          w.uint32(34)
          w.string(obj.task)
        }

        if ((obj.context != null && obj.context !== '')) {
          w.uint32(42)
          w.string(obj.context)
        }

        if (obj.priority != null && __PriorityValues[obj.priority] !== 0) {
          w.uint32(48)
          TaskMessage.Priority.codec().encode(obj.priority, w)
        }

        if ((obj.createdAt != null && obj.createdAt !== 0n)) {
          w.uint32(56)
          w.uint64(obj.createdAt)
        }

        if ((obj.expiresAt != null && obj.expiresAt !== 0n)) {
          w.uint32(64)
          w.uint64(obj.expiresAt)
        }

        if (obj.state != null && __StateValues[obj.state] !== 0) {
          w.uint32(72)
          TaskMessage.State.codec().encode(obj.state, w)
        }

        if ((obj.result != null && obj.result !== '')) {
          w.uint32(82)
          w.string(obj.result)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(90)
          w.string(obj.reason)
        }

        if (obj.fromHostedAgent != null) {
          w.uint32(98)
          w.string(obj.fromHostedAgent)
        }

        if (obj.toHostedAgent != null) {
          w.uint32(106)
          w.string(obj.toHostedAgent)
        }

        if (obj.text != null) {
          w.uint32(114)
          w.string(obj.text)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.DELEGATE,
          msgId: '',
          taskId: '',
          task: '',
          context: '',
          priority: Priority.LOW,
          createdAt: 0n,
          expiresAt: 0n,
          state: State.UNSPECIFIED,
          result: '',
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = TaskMessage.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.msgId = reader.string()
              break
            }
            case 3: {
              obj.taskId = reader.string()
              break
            }
            case 4: {
              obj.task = reader.string()
              break
            }
            case 5: {
              obj.context = reader.string()
              break
            }
            case 6: {
              obj.priority = TaskMessage.Priority.codec().decode(reader)
              break
            }
            case 7: {
              obj.createdAt = reader.uint64()
              break
            }
            case 8: {
              obj.expiresAt = reader.uint64()
              break
            }
            case 9: {
              obj.state = TaskMessage.State.codec().decode(reader)
              break
            }
            case 10: {
              obj.result = reader.string()
              break
            }
            case 11: {
              obj.reason = reader.string()
              break
            }
            case 12: {
              obj.fromHostedAgent = reader.string()
              break
            }
            case 13: {
              obj.toHostedAgent = reader.string()
              break
            }
            case 14: {
              obj.text = reader.string()
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
                field: `${prefix}.kind`,
                value: TaskMessage.Kind.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.msgId`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.taskId`,
                value: reader.string()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.task`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.context`,
                value: reader.string()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.priority`,
                value: TaskMessage.Priority.codec().decode(reader)
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.createdAt`,
                value: reader.uint64()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.expiresAt`,
                value: reader.uint64()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.state`,
                value: TaskMessage.State.codec().decode(reader)
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.result`,
                value: reader.string()
              }
              break
            }
            case 11: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
              }
              break
            }
            case 12: {
              yield {
                field: `${prefix}.fromHostedAgent`,
                value: reader.string()
              }
              break
            }
            case 13: {
              yield {
                field: `${prefix}.toHostedAgent`,
                value: reader.string()
              }
              break
            }
            case 14: {
              yield {
                field: `${prefix}.text`,
                value: reader.string()
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

  export interface TaskMessageKindFieldEvent {
    field: '$.kind'
    value: TaskMessage.Kind
  }

  export interface TaskMessageMsgIdFieldEvent {
    field: '$.msgId'
    value: string
  }

  export interface TaskMessageTaskIdFieldEvent {
    field: '$.taskId'
    value: string
  }

  export interface TaskMessageTaskFieldEvent {
    field: '$.task'
    value: string
  }

  export interface TaskMessageContextFieldEvent {
    field: '$.context'
    value: string
  }

  export interface TaskMessagePriorityFieldEvent {
    field: '$.priority'
    value: TaskMessage.Priority
  }

  export interface TaskMessageCreatedAtFieldEvent {
    field: '$.createdAt'
    value: bigint
  }

  export interface TaskMessageExpiresAtFieldEvent {
    field: '$.expiresAt'
    value: bigint
  }

  export interface TaskMessageStateFieldEvent {
    field: '$.state'
    value: TaskMessage.State
  }

  export interface TaskMessageResultFieldEvent {
    field: '$.result'
    value: string
  }

  export interface TaskMessageReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export interface TaskMessageFromHostedAgentFieldEvent {
    field: '$.fromHostedAgent'
    value: string
  }

  export interface TaskMessageToHostedAgentFieldEvent {
    field: '$.toHostedAgent'
    value: string
  }

  export interface TaskMessageTextFieldEvent {
    field: '$.text'
    value: string
  }

  export function encode (obj: Partial<TaskMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskMessage>): TaskMessage {
    return decodeMessage(buf, TaskMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskMessage>): Generator<TaskMessageKindFieldEvent | TaskMessageMsgIdFieldEvent | TaskMessageTaskIdFieldEvent | TaskMessageTaskFieldEvent | TaskMessageContextFieldEvent | TaskMessagePriorityFieldEvent | TaskMessageCreatedAtFieldEvent | TaskMessageExpiresAtFieldEvent | TaskMessageStateFieldEvent | TaskMessageResultFieldEvent | TaskMessageReasonFieldEvent | TaskMessageFromHostedAgentFieldEvent | TaskMessageToHostedAgentFieldEvent | TaskMessageTextFieldEvent> {
    return streamMessage(buf, TaskMessage.codec(), opts)
  }
}

export interface TaskFrame {
  seq: bigint
  message: Uint8Array<ArrayBuffer>
}

export namespace TaskFrame {
  let _codec: Codec<TaskFrame>

  export const codec = (): Codec<TaskFrame> => {
    if (_codec == null) {
      _codec = message<TaskFrame>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(8)
          w.uint64(obj.seq)
        }

        if ((obj.message != null && obj.message.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.message)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0n,
          message: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint64()
              break
            }
            case 2: {
              obj.message = reader.bytes()
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
                field: `${prefix}.seq`,
                value: reader.uint64()
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

  export interface TaskFrameSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface TaskFrameMessageFieldEvent {
    field: '$.message'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<TaskFrame>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskFrame.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskFrame>): TaskFrame {
    return decodeMessage(buf, TaskFrame.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskFrame>): Generator<TaskFrameSeqFieldEvent | TaskFrameMessageFieldEvent> {
    return streamMessage(buf, TaskFrame.codec(), opts)
  }
}

export interface TaskAcks {
  through: bigint
  refused: Refusal[]
}

export namespace TaskAcks {
  let _codec: Codec<TaskAcks>

  export const codec = (): Codec<TaskAcks> => {
    if (_codec == null) {
      _codec = message<TaskAcks>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.through != null && obj.through !== 0n)) {
          w.uint32(8)
          w.uint64(obj.through)
        }

        if (obj.refused != null && obj.refused.length > 0) {
          for (const value of obj.refused) {
            w.uint32(18)
            Refusal.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          through: 0n,
          refused: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.through = reader.uint64()
              break
            }
            case 2: {
              if (opts.limits?.refused != null && obj.refused.length === opts.limits.refused) {
                throw new MaxLengthError('Decode error - repeated field "refused" had too many elements')
              }

              obj.refused.push(Refusal.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.refused$
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
          refused: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.through`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              if (opts.limits?.refused != null && obj.refused === opts.limits.refused) {
                throw new MaxLengthError('Streaming decode error - repeated field "refused" had too many elements')
              }

              for (const evt of Refusal.codec().stream(reader, reader.uint32(), `${prefix}.refused[]`, {
                limits: opts.limits?.refused$
              })) {
                yield {
                  ...evt,
                  index: obj.refused
                }
              }

              obj.refused++

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

  export interface TaskAcksThroughFieldEvent {
    field: '$.through'
    value: bigint
  }

  export interface TaskAcksRefusedSeqFieldEvent {
    field: '$.refused[].seq'
    value: bigint
    index: number
  }

  export interface TaskAcksRefusedReasonFieldEvent {
    field: '$.refused[].reason'
    value: string
    index: number
  }

  export function encode (obj: Partial<TaskAcks>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, TaskAcks.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskAcks>): TaskAcks {
    return decodeMessage(buf, TaskAcks.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TaskAcks>): Generator<TaskAcksThroughFieldEvent | TaskAcksRefusedSeqFieldEvent | TaskAcksRefusedReasonFieldEvent> {
    return streamMessage(buf, TaskAcks.codec(), opts)
  }
}

export interface Refusal {
  seq: bigint
  reason: string
}

export namespace Refusal {
  let _codec: Codec<Refusal>

  export const codec = (): Codec<Refusal> => {
    if (_codec == null) {
      _codec = message<Refusal>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.seq != null && obj.seq !== 0n)) {
          w.uint32(8)
          w.uint64(obj.seq)
        }

        if ((obj.reason != null && obj.reason !== '')) {
          w.uint32(18)
          w.string(obj.reason)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          seq: 0n,
          reason: ''
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.seq = reader.uint64()
              break
            }
            case 2: {
              obj.reason = reader.string()
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
                field: `${prefix}.seq`,
                value: reader.uint64()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.reason`,
                value: reader.string()
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

  export interface RefusalSeqFieldEvent {
    field: '$.seq'
    value: bigint
  }

  export interface RefusalReasonFieldEvent {
    field: '$.reason'
    value: string
  }

  export function encode (obj: Partial<Refusal>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Refusal.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Refusal {
    return decodeMessage(buf, Refusal.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Refusal>): Generator<RefusalSeqFieldEvent | RefusalReasonFieldEvent> {
    return streamMessage(buf, Refusal.codec(), opts)
  }
}
