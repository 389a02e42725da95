// JSON of the A2A bridge's outbound side (`clawlink a2a add/list/remove`, docs/a2a.md "Outbound").

/** An external A2A agent registered with a node: a member of the mesh, hosted by that node. */
export interface A2aAgentJson {
  /** its name on the mesh (delegate --to NAME) */
  name: string
  /** where its agent card was read */
  url: string
  /** the node's environment variable the bearer token is read from at each request, or null */
  tokenEnv: string | null
  /** the name its own card gives */
  agentName: string
  description: string
  /** its card's skills (ids and tags) as caps: delegate --cap SKILL */
  caps: string[]
  /** its card offers streaming: its tasks are followed on a stream, else by GetTask with backoff */
  streaming: boolean
  /** ISO 8601 */
  addedAt: string
}

export interface A2aAddRequest {
  name: string
  url: string
  tokenEnv?: string
}
