import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface EntryBody {
  key: string
  version: number
  base: number
  author: Uint8Array<ArrayBuffer>
  time: number
  size: number
  sha256: Uint8Array<ArrayBuffer>
  mediaType: string
  deleted: boolean
  hostedEditor?: string
}

export namespace EntryBody {
  let _codec: Codec<EntryBody>

  export const codec = (): Codec<EntryBody> => {
    if (_codec == null) {
      _codec = message<EntryBody>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.key != null && obj.key !== '')) {
          w.uint32(10)
          w.string(obj.key)
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.version)
        }

        if ((obj.base != null && obj.base !== 0)) {
          w.uint32(24)
          w.uint64Number(obj.base)
        }

        if ((obj.author != null && obj.author.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.author)
        }

        if ((obj.time != null && obj.time !== 0)) {
          w.uint32(40)
          w.uint64Number(obj.time)
        }

        if ((obj.size != null && obj.size !== 0)) {
          w.uint32(48)
          w.uint64Number(obj.size)
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(58)
          w.bytes(obj.sha256)
        }

        if ((obj.mediaType != null && obj.mediaType !== '')) {
          w.uint32(66)
          w.string(obj.mediaType)
        }

        if ((obj.deleted != null && obj.deleted !== false)) {
          w.uint32(72)
          w.bool(obj.deleted)
        }

        if (obj.hostedEditor != null) {
          w.uint32(82)
          w.string(obj.hostedEditor)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          key: '',
          version: 0,
          base: 0,
          author: uint8ArrayAlloc(0),
          time: 0,
          size: 0,
          sha256: uint8ArrayAlloc(0),
          mediaType: '',
          deleted: false
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.key = reader.string()
              break
            }
            case 2: {
              obj.version = reader.uint64Number()
              break
            }
            case 3: {
              obj.base = reader.uint64Number()
              break
            }
            case 4: {
              obj.author = reader.bytes()
              break
            }
            case 5: {
              obj.time = reader.uint64Number()
              break
            }
            case 6: {
              obj.size = reader.uint64Number()
              break
            }
            case 7: {
              obj.sha256 = reader.bytes()
              break
            }
            case 8: {
              obj.mediaType = reader.string()
              break
            }
            case 9: {
              obj.deleted = reader.bool()
              break
            }
            case 10: {
              obj.hostedEditor = reader.string()
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
                field: `${prefix}.key`,
                value: reader.string()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.base`,
                value: reader.uint64Number()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.author`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.time`,
                value: reader.uint64Number()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64Number()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            case 8: {
              yield {
                field: `${prefix}.mediaType`,
                value: reader.string()
              }
              break
            }
            case 9: {
              yield {
                field: `${prefix}.deleted`,
                value: reader.bool()
              }
              break
            }
            case 10: {
              yield {
                field: `${prefix}.hostedEditor`,
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

  export interface EntryBodyKeyFieldEvent {
    field: '$.key'
    value: string
  }

  export interface EntryBodyVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface EntryBodyBaseFieldEvent {
    field: '$.base'
    value: number
  }

  export interface EntryBodyAuthorFieldEvent {
    field: '$.author'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryBodyTimeFieldEvent {
    field: '$.time'
    value: number
  }

  export interface EntryBodySizeFieldEvent {
    field: '$.size'
    value: number
  }

  export interface EntryBodySha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntryBodyMediaTypeFieldEvent {
    field: '$.mediaType'
    value: string
  }

  export interface EntryBodyDeletedFieldEvent {
    field: '$.deleted'
    value: boolean
  }

  export interface EntryBodyHostedEditorFieldEvent {
    field: '$.hostedEditor'
    value: string
  }

  export function encode (obj: Partial<EntryBody>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, EntryBody.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EntryBody>): EntryBody {
    return decodeMessage(buf, EntryBody.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<EntryBody>): Generator<EntryBodyKeyFieldEvent | EntryBodyVersionFieldEvent | EntryBodyBaseFieldEvent | EntryBodyAuthorFieldEvent | EntryBodyTimeFieldEvent | EntryBodySizeFieldEvent | EntryBodySha256FieldEvent | EntryBodyMediaTypeFieldEvent | EntryBodyDeletedFieldEvent | EntryBodyHostedEditorFieldEvent> {
    return streamMessage(buf, EntryBody.codec(), opts)
  }
}

export interface Entry {
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Entry {
  let _codec: Codec<Entry>

  export const codec = (): Codec<Entry> => {
    if (_codec == null) {
      _codec = message<Entry>((obj, w, opts = {}) => {
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

  export interface EntryBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EntrySignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Entry>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Entry.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Entry>): Entry {
    return decodeMessage(buf, Entry.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Entry>): Generator<EntryBodyFieldEvent | EntrySignatureFieldEvent> {
    return streamMessage(buf, Entry.codec(), opts)
  }
}

export interface BlobRequest {
  sha256: Uint8Array<ArrayBuffer>
  offset: number
  length: number
}

export namespace BlobRequest {
  let _codec: Codec<BlobRequest>

  export const codec = (): Codec<BlobRequest> => {
    if (_codec == null) {
      _codec = message<BlobRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.sha256 != null && obj.sha256.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.sha256)
        }

        if ((obj.offset != null && obj.offset !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.offset)
        }

        if ((obj.length != null && obj.length !== 0)) {
          w.uint32(24)
          w.uint32(obj.length)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          sha256: uint8ArrayAlloc(0),
          offset: 0,
          length: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.sha256 = reader.bytes()
              break
            }
            case 2: {
              obj.offset = reader.uint64Number()
              break
            }
            case 3: {
              obj.length = reader.uint32()
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
                field: `${prefix}.sha256`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.offset`,
                value: reader.uint64Number()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.length`,
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

  export interface BlobRequestSha256FieldEvent {
    field: '$.sha256'
    value: Uint8Array<ArrayBuffer>
  }

  export interface BlobRequestOffsetFieldEvent {
    field: '$.offset'
    value: number
  }

  export interface BlobRequestLengthFieldEvent {
    field: '$.length'
    value: number
  }

  export function encode (obj: Partial<BlobRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobRequest>): BlobRequest {
    return decodeMessage(buf, BlobRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobRequest>): Generator<BlobRequestSha256FieldEvent | BlobRequestOffsetFieldEvent | BlobRequestLengthFieldEvent> {
    return streamMessage(buf, BlobRequest.codec(), opts)
  }
}

export interface BlobHeader {
  found: boolean
  size: number
}

export namespace BlobHeader {
  let _codec: Codec<BlobHeader>

  export const codec = (): Codec<BlobHeader> => {
    if (_codec == null) {
      _codec = message<BlobHeader>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.found != null && obj.found !== false)) {
          w.uint32(8)
          w.bool(obj.found)
        }

        if ((obj.size != null && obj.size !== 0)) {
          w.uint32(16)
          w.uint64Number(obj.size)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          found: false,
          size: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.found = reader.bool()
              break
            }
            case 2: {
              obj.size = reader.uint64Number()
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
                field: `${prefix}.found`,
                value: reader.bool()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.size`,
                value: reader.uint64Number()
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

  export interface BlobHeaderFoundFieldEvent {
    field: '$.found'
    value: boolean
  }

  export interface BlobHeaderSizeFieldEvent {
    field: '$.size'
    value: number
  }

  export function encode (obj: Partial<BlobHeader>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, BlobHeader.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobHeader>): BlobHeader {
    return decodeMessage(buf, BlobHeader.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<BlobHeader>): Generator<BlobHeaderFoundFieldEvent | BlobHeaderSizeFieldEvent> {
    return streamMessage(buf, BlobHeader.codec(), opts)
  }
}
