// `npm run build`: bundles the dashboard's browser app (src/dashboard/web, Preact + htm) with esbuild
// into dist/dashboard/web, next to the page and its stylesheet, so it is served offline (no CDN).
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { build } from 'esbuild'

const root = join(import.meta.dirname, '..')
const src = join(root, 'src', 'dashboard', 'web')
const out = join(root, 'dist', 'dashboard', 'web')
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(src, 'main.js')],
  outfile: join(out, 'app.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
})
for (const file of ['index.html', 'app.css']) copyFileSync(join(src, file), join(out, file))
