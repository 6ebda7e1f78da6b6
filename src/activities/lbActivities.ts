// Load-balancer activities: take an instance out of rotation before it stops, put it back once its
// replacement passes its health gate. Setting a server state is idempotent, so retries are safe.
import { Context } from '@temporalio/activity';
import { failure } from '../lib/failures';
import { serverStat, setServerState } from '../runtime/haproxy';
import type { LbDrainResult, LbTarget } from './types';

export function createLbActivities() {
  return {
    /** drain → wait until the server has no current sessions (bounded) → maint. */
    async lbDrain(target: LbTarget): Promise<LbDrainResult> {
      const ctx = Context.current();
      const started = Date.now();
      await setServerState(target.runtimeApi, target.backend, target.server, 'drain');
      let sessions = (await serverStat(target.runtimeApi, target.backend, target.server)).sessions;
      while (sessions > 0 && Date.now() - started < target.drainTimeoutMs) {
        ctx.heartbeat({ sessions });
        await ctx.sleep(100);
        sessions = (await serverStat(target.runtimeApi, target.backend, target.server)).sessions;
      }
      // After the drain timeout the server goes to maintenance anyway: a stuck client must not block a security patch.
      await setServerState(target.runtimeApi, target.backend, target.server, 'maint');
      return { waitedMs: Date.now() - started, sessionsCut: sessions };
    },

    /** ready, then wait until HAProxy itself sees the server UP (its own health check, if any). */
    async lbEnable(target: LbTarget & { upTimeoutMs: number }): Promise<{ status: string }> {
      const ctx = Context.current();
      await setServerState(target.runtimeApi, target.backend, target.server, 'ready');
      const started = Date.now();
      for (;;) {
        const { status } = await serverStat(target.runtimeApi, target.backend, target.server);
        if (status.startsWith('UP') || status === 'no check') return { status };
        if (Date.now() - started > target.upTimeoutMs) {
          throw failure(
            'LB_NOT_UP',
            `HAProxy still reports ${target.backend}/${target.server} as ${status} ${Math.round((Date.now() - started) / 1000)} s after it was enabled`,
          );
        }
        ctx.heartbeat({ status });
        await ctx.sleep(200);
      }
    },

    /** Preflight: the Runtime API answers and knows every server the change will drive. */
    async lbCheck(targets: LbTarget[]): Promise<void> {
      const problems: string[] = [];
      for (const t of targets) {
        try {
          await serverStat(t.runtimeApi, t.backend, t.server);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
      if (problems.length > 0) {
        throw failure(
          'PREFLIGHT_FAILED',
          `load balancer preflight failed, nothing was touched: ${problems.join('; ')}`,
        );
      }
    },
  };
}
