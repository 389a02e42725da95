import { shortId } from '../../api/short-id.js'
import type { ClawLinkNode } from '../node.js'

/** How the log names a peer: its name and a short id, or the short id alone. */
export function labeller(node: ClawLinkNode): (id: string) => string {
  return (id) => {
    const name = node.presence.peer(id)?.card.name
    return name != null ? `${name} (${shortId(id)})` : shortId(id)
  }
}

/** The start of a text for a log line, on one line. */
export function excerpt(text: string): string {
  return (text.length > 60 ? `${text.slice(0, 57)}...` : text).replace(/\s+/g, ' ')
}
