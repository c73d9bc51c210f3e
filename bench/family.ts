import { Agent } from 'node:http';
import { freshDatabase, fmt, Kind, log } from './common';
import { api, postJson } from './http';
import { ADMIN_TOKEN, startServer } from './server';

/**
 * The family suite (§14): one parent with 100 children, every child updated by its own concurrent writer,
 * against the same updates on 100 independent workflows. Each child update also rolls up into the parent in
 * the same commit (one more row locked and written, one more event), and all 100 writers share that parent
 * row: this measures what the roll-up costs. Same server, same database, back to back.
 */
const CHILDREN = 100;
const UPDATES_PER_WRITER = Number(process.env.BENCH_FAMILY_UPDATES ?? 30);

export interface FamilyCell {
  db: Kind;
  independent: number;
  children: number;
  ratio: number;
  /** Parent step progress at the end against floor(mean) of the children: a correctness check. */
  parentOk: boolean;
  failed: number;
}

async function drive(base: URL, ids: string[], from: number): Promise<{ perSecond: number; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: ids.length });
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
  let failed = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    ids.map(async (id) => {
      for (let i = from + 1; i <= from + UPDATES_PER_WRITER; i++) {
        const res = await postJson(
          agent,
          base,
          `/api/workflows/${id}/steps/work/progress`,
          headers,
          JSON.stringify({ progress: i }),
        );
        if (res.status !== 200) failed++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { perSecond: (ids.length * UPDATES_PER_WRITER) / seconds, failed };
}

export async function runFamily(kinds: Kind[]): Promise<FamilyCell[]> {
  const out: FamilyCell[] = [];
  for (const db of kinds) {
    log(`family (${db}): 1 parent × ${CHILDREN} children against ${CHILDREN} independent workflows`);
    const database = await freshDatabase(db);
    const server = await startServer(database.url);
    try {
      const base = new URL(server.url);
      const create = async (body: Record<string, unknown>) => {
        const res = await api(server.url, ADMIN_TOKEN, '/api/projects/family/workflows', body);
        if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
        return res.body.id as string;
      };
      const parent = await create({ type: 'family-parent', steps: [{ id: 'split' }] });
      const kids: string[] = [];
      const solo: string[] = [];
      for (let i = 0; i < CHILDREN; i++) {
        kids.push(
          await create({
            type: 'family-child',
            steps: [{ id: 'work' }],
            parent: { workflowId: parent, stepId: 'split' },
          }),
        );
        solo.push(await create({ type: 'family-solo', steps: [{ id: 'work' }] }));
      }
      // A B B A: each kind runs once early and once late, so that warm-up and drift favour neither
      const i1 = await drive(base, solo, 0);
      const c1 = await drive(base, kids, 0);
      const c2 = await drive(base, kids, UPDATES_PER_WRITER);
      const i2 = await drive(base, solo, UPDATES_PER_WRITER);
      const independent = { perSecond: (i1.perSecond + i2.perSecond) / 2, failed: i1.failed + i2.failed };
      const children = { perSecond: (c1.perSecond + c2.perSecond) / 2, failed: c1.failed + c2.failed };
      log(
        `family (${db}): independent ${fmt(i1.perSecond)}, ${fmt(i2.perSecond)}; children ${fmt(c1.perSecond)}, ${fmt(c2.perSecond)} updates/s`,
      );
      const wf = await (
        await fetch(`${server.url}/api/workflows/${parent}`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).json();
      out.push({
        db,
        independent: independent.perSecond,
        children: children.perSecond,
        ratio: children.perSecond / independent.perSecond,
        parentOk: wf.steps[0].progress === 2 * UPDATES_PER_WRITER,
        failed: independent.failed + children.failed,
      });
    } finally {
      await server.stop();
      await database.drop();
    }
  }
  return out;
}

export function familyReport(cells: FamilyCell[]): string {
  const lines = [
    '## Parent and child workflows (§14)',
    '',
    `${CHILDREN} concurrent writers, ${UPDATES_PER_WRITER} progress updates each, one request per update, run A B B A (the mean of each kind's two runs; goal: children ≥ 0.7× independent).`,
    '',
    '| database | independent workflows (updates/s) | children of one parent (updates/s) | ratio | parent = floor(mean) at the end | failed |',
    '| --- | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const c of cells)
    lines.push(
      `| ${c.db === 'mysql' ? 'MariaDB' : 'SQLite'} | ${fmt(c.independent)} | ${fmt(c.children)} | ${c.ratio.toFixed(2)}× | ${c.parentOk ? 'yes' : 'NO'} | ${c.failed} |`,
    );
  return lines.join('\n') + '\n';
}
