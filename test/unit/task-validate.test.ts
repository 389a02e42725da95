import { describe, expect, it } from 'vitest'
import { MAX_ID_LENGTH, MAX_REASON_LENGTH } from '../../src/protocols/tasks/constants.js'
import { InvalidTaskMessageError } from '../../src/protocols/tasks/errors.js'
import { TaskMessage } from '../../src/protocols/tasks/pb/task.js'
import { byteLength, isJson, taskSize, validateMessage } from '../../src/protocols/tasks/validate.js'

const MAX = 100
const T0 = 1_700_000_000_000

function delegate(over: Partial<TaskMessage> = {}): TaskMessage {
  return {
    kind: TaskMessage.Kind.DELEGATE,
    msgId: 'b7c1e2a4-0f7d-4b8e-9a51-2f3c4d5e6f70',
    taskId: 'b7c1e2a4-0f7d-4b8e-9a51-2f3c4d5e6f70',
    task: 'summarise the report',
    context: '{"pages":3}',
    priority: TaskMessage.Priority.NORMAL,
    createdAt: BigInt(T0),
    expiresAt: BigInt(T0 + 3600_000),
    state: TaskMessage.State.UNSPECIFIED,
    result: '',
    reason: '',
    ...over,
  }
}

function update(over: Partial<TaskMessage> = {}): TaskMessage {
  return {
    kind: TaskMessage.Kind.UPDATE,
    msgId: 'msg-2',
    taskId: 'task-1',
    task: '',
    context: '',
    priority: TaskMessage.Priority.NORMAL,
    createdAt: BigInt(T0),
    expiresAt: 0n,
    state: TaskMessage.State.COMPLETED,
    result: 'done',
    reason: '',
    ...over,
  }
}

function cancel(over: Partial<TaskMessage> = {}): TaskMessage {
  return {
    kind: TaskMessage.Kind.CANCEL,
    msgId: 'msg-3',
    taskId: 'task-1',
    task: '',
    context: '',
    priority: TaskMessage.Priority.NORMAL,
    createdAt: BigInt(T0),
    expiresAt: 0n,
    state: TaskMessage.State.CANCELED,
    result: '',
    reason: 'not needed',
    ...over,
  }
}

/** The reason validateMessage gives, or undefined if the message is accepted. */
function reasonOf(msg: TaskMessage, max = MAX): string | undefined {
  try {
    validateMessage(msg, max)
    return undefined
  } catch (err) {
    if (err instanceof InvalidTaskMessageError) return err.message
    throw err
  }
}

describe('validateMessage accepts', () => {
  it('a well-formed DELEGATE, UPDATE and CANCEL', () => {
    expect(reasonOf(delegate())).toBeUndefined()
    expect(reasonOf(update())).toBeUndefined()
    expect(reasonOf(cancel())).toBeUndefined()
  })

  it('a DELEGATE without context, and with any JSON context', () => {
    expect(reasonOf(delegate({ context: '' }))).toBeUndefined()
    for (const context of ['null', '42', '"text"', '[1,2]', ' {"a": {"b": [true]}} ']) {
      expect(reasonOf(delegate({ context }))).toBeUndefined()
    }
  })

  it('every priority', () => {
    for (const priority of Object.values(TaskMessage.Priority).filter((p) => typeof p === 'string')) {
      expect(reasonOf(delegate({ priority: priority as TaskMessage.Priority }))).toBeUndefined()
    }
  })

  it('ids of the allowed characters up to 128 long', () => {
    for (const id of ['a', 'A9', 'task-1', 'a.b_c:d-e', '0'.repeat(MAX_ID_LENGTH)]) {
      expect(reasonOf(delegate({ msgId: id, taskId: id }))).toBeUndefined()
    }
  })

  it('task plus context exactly at the limit', () => {
    expect(reasonOf(delegate({ task: 'a'.repeat(MAX), context: '' }))).toBeUndefined()
    expect(reasonOf(delegate({ task: 'a'.repeat(MAX - 2), context: '{}' }))).toBeUndefined()
  })

  it('UPDATEs with each state an assignee may report', () => {
    for (const state of [
      TaskMessage.State.WORKING,
      TaskMessage.State.COMPLETED,
      TaskMessage.State.FAILED,
      TaskMessage.State.REJECTED,
    ]) {
      expect(reasonOf(update({ state }))).toBeUndefined()
    }
  })

  it('a result and a reason exactly at their limits, and an empty result', () => {
    expect(reasonOf(update({ result: 'r'.repeat(MAX) }))).toBeUndefined()
    expect(reasonOf(update({ result: '' }))).toBeUndefined()
    expect(reasonOf(cancel({ reason: 'é'.repeat(MAX_REASON_LENGTH / 2) }))).toBeUndefined()
  })
})

describe('validateMessage rejects', () => {
  it('empty ids', () => {
    expect(reasonOf(delegate({ msgId: '' }))).toMatch(/msg_id/)
    expect(reasonOf(update({ taskId: '' }))).toMatch(/task_id/)
    expect(reasonOf(cancel({ msgId: '' }))).toMatch(/msg_id/)
  })

  it('ids over 128 characters', () => {
    const long = 'a'.repeat(MAX_ID_LENGTH + 1)
    expect(reasonOf(delegate({ taskId: long }))).toMatch(/task_id/)
    expect(reasonOf(update({ msgId: long }))).toMatch(/msg_id/)
  })

  it.each([
    ['a space', 'a b'],
    ['a slash', 'a/b'],
    ['a path', '../etc'],
    ['a leading dash', '-abc'],
    ['a leading dot', '.abc'],
    ['a trailing newline', 'abc\n'],
    ['a NUL', 'abc\u0000'],
    ['non-ASCII letters', 'tâche'],
    ['an emoji', 'task🦀'],
    ['quotes', '"abc"'],
  ])('ids with %s', (_what, id) => {
    expect(reasonOf(delegate({ msgId: id }))).toMatch(/msg_id/)
    expect(reasonOf(cancel({ taskId: id }))).toMatch(/task_id/)
  })

  it('an empty or blank task', () => {
    expect(reasonOf(delegate({ task: '' }))).toMatch(/empty task/)
    expect(reasonOf(delegate({ task: ' \n\t ' }))).toMatch(/empty task/)
  })

  it('task plus context over the limit, counted in UTF-8 bytes', () => {
    expect(reasonOf(delegate({ task: 'a'.repeat(MAX + 1), context: '' }))).toMatch(/over 100 bytes/)
    expect(reasonOf(delegate({ task: 'a'.repeat(MAX - 1), context: '{}' }))).toMatch(/over 100 bytes/)
    // 40 characters, 80 bytes of task; 12 characters, 22 bytes of context: 52 characters, 102 bytes
    const task = 'é'.repeat(40)
    const context = `"${'ü'.repeat(10)}"`
    expect(task.length + context.length).toBeLessThan(MAX)
    expect(reasonOf(delegate({ task, context }))).toMatch(/over 100 bytes/)
    expect(reasonOf(delegate({ task: '🦀'.repeat(26), context: '' }))).toMatch(/over 100 bytes/)
  })

  it('a context that is not JSON', () => {
    for (const context of ['{', 'not json', "{'a':1}", '{"a":1,}', ' ', 'undefined']) {
      expect(reasonOf(delegate({ context }))).toMatch(/JSON/)
    }
  })

  it('an unknown priority or kind', () => {
    expect(reasonOf(delegate({ priority: 'EXTREME' as TaskMessage.Priority }))).toMatch(/priority/)
    expect(reasonOf(delegate({ kind: 'DELETE' as TaskMessage.Kind }))).toMatch(/kind/)
  })

  it('a DELEGATE without an expiry, or with times beyond what a number holds', () => {
    expect(reasonOf(delegate({ expiresAt: 0n }))).toMatch(/expiry/)
    expect(reasonOf(delegate({ expiresAt: BigInt(Number.MAX_SAFE_INTEGER) + 1n }))).toMatch(/expiry/)
    expect(reasonOf(delegate({ createdAt: 2n ** 64n - 1n }))).toMatch(/creation/)
  })

  it('an UPDATE with state UNSPECIFIED or CANCELED', () => {
    expect(reasonOf(update({ state: TaskMessage.State.UNSPECIFIED }))).toMatch(/state/)
    expect(reasonOf(update({ state: TaskMessage.State.CANCELED }))).toMatch(/state/)
  })

  it('a result over the limit, counted in bytes', () => {
    expect(reasonOf(update({ result: 'r'.repeat(MAX + 1) }))).toMatch(/result over 100 bytes/)
    expect(reasonOf(update({ result: 'ß'.repeat(51) }))).toMatch(/result over 100 bytes/)
  })

  it('a reason over 1024 bytes, whatever the kind', () => {
    const reason = 'é'.repeat(MAX_REASON_LENGTH / 2 + 1)
    expect(reason.length).toBeLessThan(MAX_REASON_LENGTH)
    expect(reasonOf(cancel({ reason }))).toMatch(/reason/)
    expect(reasonOf(update({ reason }))).toMatch(/reason/)
    expect(reasonOf(delegate({ reason: 'x'.repeat(MAX_REASON_LENGTH + 1) }))).toMatch(/reason/)
  })

  it('throws InvalidTaskMessageError', () => {
    expect(() => validateMessage(delegate({ task: '' }), MAX)).toThrow(InvalidTaskMessageError)
  })
})

describe('helpers', () => {
  it('byteLength and taskSize count UTF-8 bytes', () => {
    expect(byteLength('abc')).toBe(3)
    expect(byteLength('é')).toBe(2)
    expect(byteLength('🦀')).toBe(4)
    expect(taskSize('é', null)).toBe(2)
    expect(taskSize('é', undefined)).toBe(2)
    expect(taskSize('é', '"ü"')).toBe(6)
  })

  it('isJson', () => {
    expect(isJson('{"a":1}')).toBe(true)
    expect(isJson('null')).toBe(true)
    expect(isJson('')).toBe(false)
    expect(isJson('{a:1}')).toBe(false)
  })
})
