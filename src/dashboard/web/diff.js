// A line diff of two texts (longest common subsequence), for the Files view. Large inputs fall back to
// a plain before/after so the page never stalls.
const MAX_CELLS = 4_000_000

/** [{op: ' ' | '-' | '+', line}] */
export function diffLines(a, b) {
  const x = a.split('\n')
  const y = b.split('\n')
  if (x.length * y.length > MAX_CELLS)
    return [...x.map((line) => ({ op: '-', line })), ...y.map((line) => ({ op: '+', line }))]
  const n = x.length
  const m = y.length
  const w = m + 1
  const dp = new Uint32Array((n + 1) * w)
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      dp[i * w + j] =
        x[i] === y[j] ? dp[(i + 1) * w + j + 1] + 1 : Math.max(dp[(i + 1) * w + j], dp[i * w + j + 1])
  const out = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: ' ', line: x[i] })
      i++
      j++
    } else if (dp[(i + 1) * w + j] >= dp[i * w + j + 1]) out.push({ op: '-', line: x[i++] })
    else out.push({ op: '+', line: y[j++] })
  }
  while (i < n) out.push({ op: '-', line: x[i++] })
  while (j < m) out.push({ op: '+', line: y[j++] })
  return out
}
