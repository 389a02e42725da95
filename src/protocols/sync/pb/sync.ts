import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface SyncRequest {
  kind: SyncRequest.Kind
  epoch: string
  after: number
  ids: string[]
}

export namespace SyncRequest {
  export enum Kind {
    CHANGES = 'CHANGES',
    GET = 'GET'
  }

  enum __KindValues {
    CHANGES = 0,
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

        if ((obj.epoch != null && obj.epoch !== '')) {
          w.uint32(18)
          w.string(obj.epoch)
        }

        if ((obj.after != null && obj.after !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.after)
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
          kind: Kind.CHANGES,
          epoch: '',
          after: 0,
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
              obj.epoch = reader.string()
              break
            }
            case 3: {
              obj.after = reader.uint64Number()
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
                field: `${prefix}.epoch`,
                value: reader.string()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.after`,
                value: reader.uint64Number()
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

  export interface SyncRequestEpochFieldEvent {
    field: '$.epoch'
    value: string
  }

  export interface SyncRequestAfterFieldEvent {
    field: '$.after'
    value: number
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

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): Generator<SyncRequestKindFieldEvent | SyncRequestEpochFieldEvent | SyncRequestAfterFieldEvent | SyncRequestIdsFieldEvent> {
    return streamMessage(buf, SyncRequest.codec(), opts)
  }
}

export interface SyncResponse {
  epoch: string
  ids: string[]
  cursor: number
  more: boolean
  items: Uint8Array<ArrayBuffer>[]
  restart: boolean
}

export namespace SyncResponse {
  let _codec: Codec<SyncResponse>

  export const codec = (): Codec<SyncResponse> => {
    if (_codec == null) {
      _codec = message<SyncResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.epoch != null && obj.epoch !== '')) {
          w.uint32(10)
          w.string(obj.epoch)
        }

        if (obj.ids != null && obj.ids.length > 0) {
          for (const value of obj.ids) {
            w.uint32(18)
            w.string(value)
          }
        }

        if ((obj.cursor != null && obj.cursor !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.cursor)
        }

        if ((obj.more != null && obj.more !== false)) {
          w.uint32(32)
          w.bool(obj.more)
        }

        if (obj.items != null && obj.items.length > 0) {
          for (const value of obj.items) {
            w.uint32(42)
            w.bytes(value)
          }
        }

        if ((obj.restart != null && obj.restart !== false)) {
          w.uint32(48)
          w.bool(obj.restart)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          epoch: '',
          ids: [],
          cursor: 0,
          more: false,
          items: [],
          restart: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.epoch = reader.string()
              break
            }
            case 2: {
              if (opts.limits?.ids != null && obj.ids.length === opts.limits.ids) {
                throw new MaxLengthError('Decode error - repeated field "ids" had too many elements')
              }

              obj.ids.push(reader.string())
              break
            }
            case 3: {
              obj.cursor = reader.uint64Number()
              break
            }
            case 4: {
              obj.more = reader.bool()
              break
            }
            case 5: {
              if (opts.limits?.items != null && obj.items.length === opts.limits.items) {
                throw new MaxLengthError('Decode error - repeated field "items" had too many elements')
              }

              obj.items.push(reader.bytes())
              break
            }
            case 6: {
              obj.restart = reader.bool()
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
          ids: 0,
          items: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.epoch`,
                value: reader.string()
              }
              break
            }
            case 2: {
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
            case 3: {
              yield {
                field: `${prefix}.cursor`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.more`,
                value: reader.bool()
              }
              break
            }
            case 5: {
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
            case 6: {
              yield {
                field: `${prefix}.restart`,
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

  export interface SyncResponseEpochFieldEvent {
    field: '$.epoch'
    value: string
  }

  export interface SyncResponseIdsFieldEvent {
    field: '$.ids[]'
    index: number
    value: string
  }

  export interface SyncResponseCursorFieldEvent {
    field: '$.cursor'
    value: number
  }

  export interface SyncResponseMoreFieldEvent {
    field: '$.more'
    value: boolean
  }

  export interface SyncResponseItemsFieldEvent {
    field: '$.items[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncResponseRestartFieldEvent {
    field: '$.restart'
    value: boolean
  }

  export function encode (obj: Partial<SyncResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): SyncResponse {
    return decodeMessage(buf, SyncResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): Generator<SyncResponseEpochFieldEvent | SyncResponseIdsFieldEvent | SyncResponseCursorFieldEvent | SyncResponseMoreFieldEvent | SyncResponseItemsFieldEvent | SyncResponseRestartFieldEvent> {
    return streamMessage(buf, SyncResponse.codec(), opts)
  }
}
