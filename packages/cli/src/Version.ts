/** The version `tessera --version` prints; its own module so that answering it loads nothing else. */
export const VERSION = "0.1.0"
