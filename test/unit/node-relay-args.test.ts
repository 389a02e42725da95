// `clawlink node --relay` as users type it: alone it makes the node a hub, with an address it names one.
import { describe, expect, it } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { GLOBAL_OPTIONS } from '../../src/cli/command.js'
import { findCommand } from '../../src/cli/commands/index.js'

const parse = (...argv: string[]) => parseArgs(argv, GLOBAL_OPTIONS, (name) => findCommand(name)?.options)
const HUB_ADDR = '/ip4/198.18.1.254/tcp/4001/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp'

describe('node --relay', () => {
  it('takes no value when it stands alone or before another option', () => {
    expect(parse('node', '--name', 'hub', '--relay').options.relay).toEqual([''])
    const p = parse('node', '--relay', '--name', 'x')
    expect(p.options.relay).toEqual([''])
    expect(p.options.name).toBe('x')
    expect(p.positionals).toEqual([])
  })

  it('takes a multiaddr as the hub to reach the mesh through', () => {
    expect(parse('node', '--relay', HUB_ADDR, '--name', 'x').options.relay).toEqual([HUB_ADDR])
    expect(parse('node', `--relay=${HUB_ADDR}`).options.relay).toEqual([HUB_ADDR])
  })

  it('keeps --relay-server as an alias', () => {
    expect(parse('node', '--name', 'hub', '--relay-server').options['relay-server']).toBe(true)
  })
})

describe('node --max-peers', () => {
  it('takes a number from 2 to 1000', () => {
    expect(parse('node', '--max-peers', '4').options['max-peers']).toBe(4)
    expect(() => parse('node', '--max-peers', '1')).toThrow(/--max-peers must be at least 2/)
    expect(() => parse('node', '--max-peers', '1001')).toThrow(/--max-peers must be at most 1000/)
    expect(() => parse('node', '--max-peers', 'lots')).toThrow(/--max-peers expects a number/)
  })
})
