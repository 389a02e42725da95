import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface BroadcastBody {
  author: Uint8Array<ArrayBuffer>
  topic: string
  tags: string[]
  content: string
  time: bigint
  nonce: Uint8Array<ArrayBuffer>
}

export namespace BroadcastBody {
  let _codec: Codec<BroadcastBody>

  export const codec = (): Codec<BroadcastBody> => {
    if (_codec == null) {
      _codec = message<BroadcastBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.author != null && obj.author.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.author)
        }

        if ((obj.topic != null && obj.topic !== '')) {
          w.uint32(18)
          w.string(obj.topic)
        }

        if (obj.tags != null && obj.tags.length > 0) {
          for (const value of obj.tags) {
            w.uint32(26)
            w.string(value)
          }
        }

        if ((obj.content != null && obj.content !== '')) {
          w.uint32(34)
          w.string(obj.content)
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(40)
          w.uint64(obj.time)
        }

        if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.nonce)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          author: uint8ArrayAlloc(0),
          topic: '',
          tags: [],
          content: '',
          time: 0n,
          nonce: uint8ArrayAlloc(0)
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
              obj.topic = reader.string()
              break
            }
            case 3: {
              if (opts.limits?.tags != null && obj.tags.length === opts.limits.tags) {
                throw new MaxLengthError('Decode error - repeated field "tags" had too many elements')
              }

              obj.tags.push(reader.string())
              break
            }
            case 4: {
              obj.content = reader.string()
              break
            }
            case 5: {
              obj.time = reader.uint64()
              break
            }
            case 6: {
              obj.nonce = reader.bytes()
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
          tags: 0
        }

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
                field: `${prefix}.topic`,
                value: reader.string()
              }
              break
            }
            case 3: {
              if (opts.limits?.tags != null && obj.tags === opts.limits.tags) {
                throw new MaxLengthError('Streaming decode error - repeated field "tags" had too many elements')
              }

              yield {
                field: `${prefix}.tags[]`,
                index: obj.tags,
                value: reader.string()
              }

              obj.tags++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.content`,
                value: reader.string()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.time`,
                value: reader.uint64()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.nonce`,
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

  export interface BroadcastBodyAuthorFieldEvent {
    field: '$.author'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BroadcastBodyTopicFieldEvent {
    field: '$.topic'
    value: string
  }

  export interface BroadcastBodyTagsFieldEvent {
    field: '$.tags[]'
    index: number
    value: string
  }

  export interface BroadcastBodyContentFieldEvent {
    field: '$.content'
    value: string
  }

  export interface BroadcastBodyTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export interface BroadcastBodyNonceFieldEvent {
    field: '$.nonce'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<BroadcastBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BroadcastBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BroadcastBody>): BroadcastBody {
    return decodeMessage(buf, BroadcastBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BroadcastBody>): Generator<BroadcastBodyAuthorFieldEvent | BroadcastBodyTopicFieldEvent | BroadcastBodyTagsFieldEvent | BroadcastBodyContentFieldEvent | BroadcastBodyTimeFieldEvent | BroadcastBodyNonceFieldEvent> {
    return streamMessage(buf, BroadcastBody.codec(), opts)
  }
}

export interface Broadcast {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Broadcast {
  let _codec: Codec<Broadcast>

  export const codec = (): Codec<Broadcast> => {
    if (_codec == null) {
      _codec = message<Broadcast>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.body = reader.bytes()
              break
            }
            case 2: {
              obj.signature = reader.bytes()
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
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.signature`,
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

  export interface BroadcastBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BroadcastSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Broadcast>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Broadcast.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Broadcast>): Broadcast {
    return decodeMessage(buf, Broadcast.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Broadcast>): Generator<BroadcastBodyFieldEvent | BroadcastSignatureFieldEvent> {
    return streamMessage(buf, Broadcast.codec(), opts)
  }
}

export interface SyncRequest {
  kind: SyncRequest.Kind
  since: bigint
  cursor: string
  ids: string[]
}

export namespace SyncRequest {
  export enum Kind {
    IDS = 'IDS',
    GET = 'GET'
  }

  enum __KindValues {
    IDS = 0,
    GET = 1
  }

  export namespace Kind {
    export const codec = (): Codec<Kind> => {
      return enumeration<Kind>(__KindValues)
    }
  }

  let _codec: Codec<SyncRequest>

  export const codec = (): Codec<SyncRequest> => {
    if (_codec == null) {
      _codec = message<SyncRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.kind != null && __KindValues[obj.kind] !== 0) {
          w.uint32(8)
          SyncRequest.Kind.codec().encode(obj.kind, w)
        }

        if ((obj.since != null && obj.since !== 0n)) {
          w.uint32(16)
          w.uint64(obj.since)
        }

        if ((obj.cursor != null && obj.cursor !== '')) {
          w.uint32(26)
          w.string(obj.cursor)
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(34)
            w.string(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          kind: Kind.IDS,
          since: 0n,
          cursor: '',
          ids: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.kind = SyncRequest.Kind.codec().decode(reader)
              break
            }
            case 2: {
              obj.since = reader.uint64()
              break
            }
            case 3: {
              obj.cursor = reader.string()
              break
            }
            case 4: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              obj.ids.push(reader.string())
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
          ids: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.kind`,
                value: SyncRequest.Kind.codec().decode(reader)
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.since`,
                value: reader.uint64()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.cursor`,
                value: reader.string()
              }
              break
            }
            case 4: {
              if (opts.limits?.ids != null && obj.ids === opts.limits.ids) {
                throw new MaxLengthError('Streaming decode error - repeated field "ids" had too many elements')
              }

              yield {
                field: `${prefix}.ids[]`,
                index: obj.ids,
                value: reader.string()
              }

              obj.ids++

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

  export interface SyncRequestKindFieldEvent {
    field: '$.kind'
    value: SyncRequest.Kind
  }

  export interface SyncRequestSinceFieldEvent {
    field: '$.since'
    value: bigint
  }

  export interface SyncRequestCursorFieldEvent {
    field: '$.cursor'
    value: string
  }

  export interface SyncRequestIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: string
  }

  export function encode (obj: Partial<SyncRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): SyncRequest {
    return decodeMessage(buf, SyncRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): Generator<SyncRequestKindFieldEvent | SyncRequestSinceFieldEvent | SyncRequestCursorFieldEvent | SyncRequestIdsFieldEvent> {
    return streamMessage(buf, SyncRequest.codec(), opts)
  }
}

export interface SyncEntry {
  id: string
  time: bigint
}

export namespace SyncEntry {
  let _codec: Codec<SyncEntry>

  export const codec = (): Codec<SyncEntry> => {
    if (_codec == null) {
      _codec = message<SyncEntry>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.id != null && obj.id !== '')) {
          w.uint32(10)
          w.string(obj.id)
        }

        if ((obj.time != null && obj.time !== 0n)) {
          w.uint32(16)
          w.uint64(obj.time)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          id: '',
          time: 0n
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.id = reader.string()
              break
            }
            case 2: {
              obj.time = reader.uint64()
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
                field: `${prefix}.id`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.time`,
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

  export interface SyncEntryIdFieldEvent {
    field: '$.id'
    value: string
  }

  export interface SyncEntryTimeFieldEvent {
    field: '$.time'
    value: bigint
  }

  export function encode (obj: Partial<SyncEntry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncEntry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncEntry>): SyncEntry {
    return decodeMessage(buf, SyncEntry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncEntry>): Generator<SyncEntryIdFieldEvent | SyncEntryTimeFieldEvent> {
    return streamMessage(buf, SyncEntry.codec(), opts)
  }
}

export interface SyncResponse {
  entries: SyncEntry[]
  more: boolean
  cursor: string
  items: Uint8Array<ArrayBuffer>[]
}

export namespace SyncResponse {
  let _codec: Codec<SyncResponse>

  export const codec = (): Codec<SyncResponse> => {
    if (_codec == null) {
      _codec = message<SyncResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if (obj.entries != null && obj.entries.length > 0) {
          for (const value of obj.entries) {
            w.uint32(10)
            SyncEntry.codec().encode(value, w)
          }
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(16)
          w.bool(obj.more)
        }

        if ((obj.cursor != null && obj.cursor !== '')) {
          w.uint32(26)
          w.string(obj.cursor)
        }

        if (obj.items != null && obj.items.length > 0) {
          for (const value of obj.items) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          entries: [],
          more: false,
          cursor: '',
          items: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements')
              }

              obj.entries.push(SyncEntry.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.entries$
              }))
              break
            }
            case 2: {
              obj.more = reader.bool()
              break
            }
            case 3: {
              obj.cursor = reader.string()
              break
            }
            case 4: {
              if (opts.limits?.items != null && obj.items.length === opts.limits.items) {
                throw new MaxLengthError('Decode error - repeated field "items" had too many elements')
              }

              obj.items.push(reader.bytes())
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
          entries: 0,
          items: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              if (opts.limits?.entries != null && obj.entries === opts.limits.entries) {
                throw new MaxLengthError('Streaming decode error - repeated field "entries" had too many elements')
              }

              for (const evt of SyncEntry.codec().stream(reader, reader.uint32(), `${prefix}.entries[]`, {
                limits: opts.limits?.entries$
              })) {
                yield {
                  ...evt,
                  index: obj.entries
                }
              }

              obj.entries++

              break
            }
            case 2: {
              yield {
                field: `${prefix}.more`,
                value: reader.bool()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.cursor`,
                value: reader.string()
              }
              break
            }
            case 4: {
              if (opts.limits?.items != null && obj.items === opts.limits.items) {
                throw new MaxLengthError('Streaming decode error - repeated field "items" had too many elements')
              }

              yield {
                field: `${prefix}.items[]`,
                index: obj.items,
                value: reader.bytes()
              }

              obj.items++

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

  export interface SyncResponseEntriesIdFieldEvent {
    field: '$.entries[].id'
    value: string
    index: number
  }

  export interface SyncResponseEntriesTimeFieldEvent {
    field: '$.entries[].time'
    value: bigint
    index: number
  }

  export interface SyncResponseMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export interface SyncResponseCursorFieldEvent {
    field: '$.cursor'
    value: string
  }

  export interface SyncResponseItemsFieldEvent {
    field: '$.items[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SyncResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): SyncResponse {
    return decodeMessage(buf, SyncResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): Generator<SyncResponseEntriesIdFieldEvent | SyncResponseEntriesTimeFieldEvent | SyncResponseMoreFieldEvent | SyncResponseCursorFieldEvent | SyncResponseItemsFieldEvent> {
    return streamMessage(buf, SyncResponse.codec(), opts)
  }
}
