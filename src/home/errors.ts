/** Errors the node reports to a person; `message` is written for them. */
export class ConfigError extends Error {
  static override readonly name = 'ConfigError'
  override name = 'ConfigError'
}

export class DataDirLockedError extends Error {
  static override readonly name = 'DataDirLockedError'
  override name = 'DataDirLockedError'
}

export class InvalidMeshKeyError extends Error {
  static override readonly name = 'InvalidMeshKeyError'
  override name = 'InvalidMeshKeyError'
}
