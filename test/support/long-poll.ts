import type { ApiResponse } from './http';

/** How often a parked claim re-checks its queue on its own (src/modules/queue-monitoring/claim.service.ts). */
export const CLAIM_RECHECK_MS = 250;

/**
 * How long after the work was created each of `rounds` waiting claims answered (ms; negative when the claim
 * answered before the create's own response arrived).
 *
 * A parked claim re-checks its queue every CLAIM_RECHECK_MS anyway, so "it returned" alone proves no wake-up.
 * Each round starts a waiting claim, lets it park (its first look finds nothing), then creates the work at
 * offset round/rounds of the re-check cycle: the offsets span one whole period, so a claim that only
 * re-checked would answer 0..CLAIM_RECHECK_MS after the create, evenly spread over the rounds (about 3 of 8
 * under 100 ms), while a woken one answers within a few ms every time.
 */
export async function claimWakeLags(
  rounds: number,
  claim: (round: number) => Promise<ApiResponse>,
  create: (round: number) => Promise<unknown>,
  check: (res: ApiResponse, round: number) => void,
): Promise<number[]> {
  const lags: number[] = [];
  for (let i = 1; i <= rounds; i++) {
    let answeredAt = 0;
    const waiting = claim(i).then((res) => {
      answeredAt = performance.now();
      return res;
    });
    // pacing, not a quiet window: park the claim, then place the create in the re-check cycle
    await new Promise((r) => setTimeout(r, 300 + (i * CLAIM_RECHECK_MS) / rounds));
    await create(i);
    const createdAt = performance.now();
    check(await waiting, i);
    lags.push(Math.round(answeredAt - createdAt));
  }
  return lags;
}

/** True when all but at most one round (a loaded machine) answered under 100 ms: re-checking alone passes ~1 % of the time. */
export const wokenFast = (lags: number[]): boolean => lags.filter((ms) => ms < 100).length >= lags.length - 1;
