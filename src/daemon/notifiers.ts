import type { ClawLinkNode } from '../core/index.js'
import { EventHook } from '../core/notify/event-hook.js'
import { WakeNotifier } from '../core/notify/wake-notifier.js'

/** --wake-url and --on-event: tell the agent when work arrives, without delaying its delivery. */
export function startNotifiers(node: ClawLinkNode): void {
  const { options, log } = node
  const agent = { name: options.name, dataDir: node.paths.root }
  const notifiers: Array<{ notify(e: Parameters<WakeNotifier['notify']>[0]): void; stop(): Promise<void> }> =
    []
  if (options.wakeUrl != null) {
    notifiers.push(
      new WakeNotifier({
        url: options.wakeUrl,
        token: options.wakeToken,
        agentId: options.wakeAgent,
        sessionKey: options.wakeSession,
        textMode: options.wakeText,
        types: options.wakeOn,
        agent,
        log,
      }),
    )
  }
  if (options.onEvent != null) {
    notifiers.push(new EventHook({ command: options.onEvent, types: options.wakeOn, log }))
  }
  for (const n of notifiers) {
    node.watchHub.subscribe((e) => n.notify(e), { internal: true })
    // pending wake-ups get a moment to go out; they never hold the stop for long
    node.onStop('before-network', () => n.stop())
  }
}
