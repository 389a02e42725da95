// Loaded with --import: fails any CLI run that loads libp2p, which would make every command slow.
import { registerHooks } from 'node:module'

registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context)
    if (/[\\/]node_modules[\\/](libp2p|@libp2p|@chainsafe)[\\/]/.test(result.url)) {
      throw new Error(`the CLI imported libp2p: ${result.url}`)
    }
    return result
  },
})
