import { describe, expect, it } from 'vitest'
import { type OptionSpecs, parseArgs, parseDuration, splitList } from '../../src/cli/args.js'
import { UsageError } from '../../src/cli/errors.js'

const GLOBAL: OptionSpecs = {
  'data-dir': { type: 'string', value: 'DIR', description: 'data dir' },
  as: { type: 'string', value: 'NAME', description: 'agent' },
  help: { type: 'boolean', short: 'h', description: 'help' },
}

const COMMANDS: Record<string, OptionSpecs> = {
  node: {
    name: { type: 'string', description: 'name' },
    caps: { type: 'string', multiple: true, description: 'caps' },
    port: { type: 'number', min: 0, max: 65535, description: 'port' },
    ratio: { type: 'number', description: 'any number' },
    retry: { type: 'number', multiple: true, description: 'numbers' },
    json: { type: 'boolean', description: 'json' },
  },
  poll: {
    wait: { type: 'string', implicit: '30s', description: 'wait' },
    output: { type: 'string', short: 'o', description: 'file' },
  },
  status: {},
}

function parse(...argv: string[]) {
  return parseArgs(argv, GLOBAL, (name) => COMMANDS[name])
}

/** The UsageError parse throws (fails the test if it does not throw one). */
function usageError(...argv: string[]): UsageError {
  try {
    parse(...argv)
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    return err as UsageError
  }
  throw new Error(`parse(${JSON.stringify(argv)}) did not throw`)
}

describe('parseArgs', () => {
  it('parses a command with no arguments', () => {
    expect(parse('status')).toEqual({ command: 'status', options: {}, positionals: [] })
  })

  it('parses nothing at all', () => {
    expect(parse()).toEqual({ options: {}, positionals: [] })
  })

  it('takes global options before the command', () => {
    const p = parse('--data-dir', '/tmp/x', 'status')
    expect(p.command).toBe('status')
    expect(p.options['data-dir']).toBe('/tmp/x')
  })

  it('takes global options after the command', () => {
    const p = parse('status', '--as', 'alice', '-h')
    expect(p.command).toBe('status')
    expect(p.options).toEqual({ as: 'alice', help: true })
  })

  it('does not accept command options before the command', () => {
    const err = usageError('--name', 'alice', 'node')
    expect(err.message).toBe('unknown option --name')
    expect(err.command).toBeUndefined()
  })

  it('accepts --flag=value and --flag value alike', () => {
    expect(parse('node', '--name=alice').options.name).toBe('alice')
    expect(parse('node', '--name', 'alice').options.name).toBe('alice')
  })

  it('keeps everything after the first = in --flag=value, and allows an empty value', () => {
    expect(parse('node', '--name=a=b').options.name).toBe('a=b')
    expect(parse('node', '--name=').options.name).toBe('')
  })

  it('accepts a value that starts with a dash only in --flag=value form', () => {
    expect(parse('node', '--name=-x').options.name).toBe('-x')
    expect(usageError('node', '--name', '-x').message).toBe('--name needs a value')
  })

  it("accepts '-' as a value", () => {
    expect(parse('poll', '-o', '-').options.output).toBe('-')
  })

  it('collects positionals after the command', () => {
    const p = parse('node', 'one', '--json', 'two')
    expect(p.positionals).toEqual(['one', 'two'])
    expect(p.options.json).toBe(true)
  })

  it('rejects an unknown option, naming the command', () => {
    const err = usageError('node', '--nope')
    expect(err.message).toBe('unknown option --nope for node')
    expect(err.command).toBe('node')
    expect(usageError('node', '--nope=1').message).toBe('unknown option --nope for node')
    expect(usageError('node', '-x').message).toBe('unknown option -x for node')
  })

  it('rejects an option of another command', () => {
    expect(usageError('status', '--name', 'x').message).toBe('unknown option --name for status')
  })

  it('rejects an unknown command', () => {
    const err = usageError('frobnicate')
    expect(err.message).toBe('unknown command "frobnicate"')
    expect(usageError('--as', 'bob', 'frobnicate').message).toMatch(/unknown command/)
  })

  it('rejects a missing value at the end or before another option', () => {
    expect(usageError('node', '--name').message).toBe('--name needs a value')
    expect(usageError('node', '--name', '--json').message).toBe('--name needs a value')
    expect(usageError('--data-dir').message).toBe('--data-dir needs a value')
  })

  it('converts numbers', () => {
    expect(parse('node', '--port', '8080').options.port).toBe(8080)
    expect(parse('node', '--port=0').options.port).toBe(0)
    expect(parse('node', '--ratio', '-1.5').options.ratio).toBe(-1.5)
    expect(parse('node', '--ratio=2.25').options.ratio).toBe(2.25)
  })

  it('rejects non-numbers for a number option', () => {
    expect(usageError('node', '--port', 'eighty').message).toBe('--port expects a number, got "eighty"')
    expect(usageError('node', '--port=').message).toMatch(/expects a number/)
    expect(usageError('node', '--port=  ').message).toMatch(/expects a number/)
    expect(usageError('node', '--ratio=Infinity').message).toMatch(/expects a number/)
    expect(usageError('node', '--ratio=NaN').message).toMatch(/expects a number/)
  })

  it('enforces min and max', () => {
    expect(parse('node', '--port', '65535').options.port).toBe(65535)
    expect(usageError('node', '--port', '65536').message).toBe('--port must be at most 65535')
    expect(usageError('node', '--port', '-1').message).toBe('--port must be at least 0')
    expect(usageError('node', '--port=-1').command).toBe('node')
  })

  it('rejects a repeated non-multiple option', () => {
    expect(usageError('node', '--name', 'a', '--name', 'b').message).toBe('--name given twice')
    expect(usageError('--as', 'a', 'status', '--as', 'b').message).toBe('--as given twice')
  })

  it('allows a repeated boolean', () => {
    expect(parse('node', '--json', '--json').options.json).toBe(true)
  })

  it('collects multiple options in order', () => {
    expect(parse('node', '--caps', 'a,b', '--caps=c', '--caps', 'd').options.caps).toEqual(['a,b', 'c', 'd'])
    expect(parse('node', '--retry', '1', '--retry=2').options.retry).toEqual([1, 2])
    expect(parse('node', '--caps', 'x').options.caps).toEqual(['x'])
  })

  it('rejects a value for a boolean', () => {
    expect(usageError('node', '--json=true').message).toBe('--json takes no value')
    expect(usageError('--help=yes', 'status').message).toBe('--help takes no value')
  })

  it('does not let a boolean swallow the next argument', () => {
    const p = parse('node', '--json', 'true')
    expect(p.options.json).toBe(true)
    expect(p.positionals).toEqual(['true'])
  })

  it('supports short options', () => {
    expect(parse('poll', '-o', 'out.txt').options.output).toBe('out.txt')
    expect(parse('-h').options.help).toBe(true)
  })

  describe('implicit values', () => {
    it('uses the implicit value when the option stands alone', () => {
      expect(parse('poll', '--wait').options.wait).toBe('30s')
    })

    it('uses the implicit value before another option', () => {
      const p = parse('poll', '--wait', '--as', 'alice')
      expect(p.options.wait).toBe('30s')
      expect(p.options.as).toBe('alice')
    })

    it('takes a following value that starts with a digit', () => {
      const p = parse('poll', '--wait', '10', 'rest')
      expect(p.options.wait).toBe('10')
      expect(p.positionals).toEqual(['rest'])
      expect(parse('poll', '--wait', '5m').options.wait).toBe('5m')
    })

    it('leaves a following word as a positional', () => {
      const p = parse('poll', '--wait', 'inbox')
      expect(p.options.wait).toBe('30s')
      expect(p.positionals).toEqual(['inbox'])
    })

    it('takes an explicit --wait=value of any form', () => {
      expect(parse('poll', '--wait=2h').options.wait).toBe('2h')
    })
  })

  describe("'--'", () => {
    it('ends options: what follows is positional', () => {
      const p = parse('node', '--json', '--', '--name', '-h', '--')
      expect(p.options).toEqual({ json: true })
      expect(p.positionals).toEqual(['--name', '-h', '--'])
    })

    it('may come before the command', () => {
      const p = parse('--', 'status', '--as')
      expect(p.command).toBe('status')
      expect(p.positionals).toEqual(['--as'])
    })

    it('still checks the command after it', () => {
      expect(usageError('--', '--status').message).toBe('unknown command "--status"')
    })
  })
})

describe('splitList', () => {
  it('splits comma lists and joins repeated values, trimming blanks', () => {
    expect(splitList('a,b, c')).toEqual(['a', 'b', 'c'])
    expect(splitList(['a,b', ' c ', ',,d,'])).toEqual(['a', 'b', 'c', 'd'])
  })

  it('gives undefined for an absent option and [] for an empty one', () => {
    expect(splitList(undefined)).toBeUndefined()
    expect(splitList('')).toEqual([])
    expect(splitList([' , '])).toEqual([])
  })

  it('turns numbers into strings', () => {
    expect(splitList([1, 2])).toEqual(['1', '2'])
  })
})

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['10', 10_000],
    ['1.5s', 1_500],
    ['0.5', 500],
    [' 3s ', 3_000],
    ['365d', 365 * 86_400_000],
  ])('%s is %d ms', (raw, ms) => {
    expect(parseDuration(raw, '--wait')).toBe(ms)
  })

  it.each(['', 'abc', '5x', '5 s', '-5s', '1e3', 's', '5S', '1.s', '.5s', '10sec', '1h30m'])(
    'rejects %j, naming the flag',
    (raw) => {
      expect(() => parseDuration(raw, '--wait')).toThrow(UsageError)
      expect(() => parseDuration(raw, '--wait')).toThrow(/^--wait expects a duration/)
    },
  )

  it.each(['0', '0s', '0ms', '0.0h', '0.4ms'])('rejects %j, which is zero', (raw) => {
    expect(() => parseDuration(raw, '--heartbeat')).toThrow('--heartbeat is out of range')
  })

  it('rejects more than a year', () => {
    expect(() => parseDuration('366d', '--ttl')).toThrow('--ttl is out of range')
    expect(() => parseDuration('9'.repeat(400), '--ttl')).toThrow('--ttl is out of range')
  })
})
