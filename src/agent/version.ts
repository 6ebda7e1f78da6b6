// What an agent says about itself, and what the workflows need of it. Pure (workflow code imports it).

/** The Patchbay release an agent runs (package.json's version; checked by a unit test). */
export const AGENT_VERSION = '0.1.0';

/**
 * The agent protocol: the set of host activities and their inputs an agent understands. Raised when
 * a step needs something older agents do not do; the workflows refuse a host whose agent is older.
 */
export const AGENT_PROTOCOL = 2;

/** The lowest protocol the current workflows need from an agent. */
export const REQUIRED_AGENT_PROTOCOL = 1;

/**
 * What a revision with schema migrations needs: protocol 2 jobs return their output and take a
 * check's exit code as its answer (JobInput.capture); an older agent would fail the check instead.
 */
export const MIGRATIONS_AGENT_PROTOCOL = 2;

export interface AgentHello {
  cloud: string;
  host: string;
  version: string;
  protocol: number;
  /** The worker identity the agent polls with (what `patchbay hosts` shows). */
  identity: string;
}

/** Why a host's agent is too old for the current workflows, or null when it will do. */
export function agentTooOld(hello: AgentHello, required = REQUIRED_AGENT_PROTOCOL): string | null {
  return hello.protocol >= required
    ? null
    : `host ${hello.host}: its agent runs Patchbay ${hello.version} (agent protocol ${hello.protocol}); this change needs agent protocol ${required} (Patchbay ${AGENT_VERSION} or later): upgrade the agent`;
}
