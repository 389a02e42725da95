/** A PeerId prefix long enough to tell peers apart at a glance, and usable wherever a prefix is accepted. */
export function shortId(id: string): string {
  return id.slice(0, 16)
}
