/**
 * What the benchmark writes: two layouts of running workflows (all on one project, or spread over 50),
 * and progress updates that are always accepted and always change something. Every update carries
 * `current` from one ever-rising counter against a huge `total`: the step's progress stays 0 (never a
 * regression, whatever order concurrent requests commit in) while `current` differs from the stored value,
 * so each update is a real change that commits one `workflow:step:progress` event.
 */
export const TOTAL = 1e15;
export const STEPS_PER_WORKFLOW = 10;
export const BATCH_SIZE = 100;

let counter = 0;

export interface Target {
  projectId: string;
  workflowId: string;
}

export interface Update {
  projectId: string;
  workflowId: string;
  stepId: string;
  current: number;
  total: number;
}

export const stepIds = Array.from({ length: STEPS_PER_WORKFLOW }, (_, i) => `s${i}`);

export class Spread {
  readonly projects: string[];

  constructor(
    readonly label: string,
    readonly targets: Target[],
  ) {
    this.projects = [...new Set(targets.map((t) => t.projectId))];
  }

  next(): Update {
    const t = this.targets[Math.floor(Math.random() * this.targets.length)];
    const stepId = stepIds[Math.floor(Math.random() * STEPS_PER_WORKFLOW)];
    return { projectId: t.projectId, workflowId: t.workflowId, stepId, current: ++counter, total: TOTAL };
  }

  batch(n = BATCH_SIZE): Update[] {
    return Array.from({ length: n }, () => this.next());
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** One project with 32 workflows (one per connection at the widest), and 50 projects with 4 each. */
export function layouts(): Spread[] {
  const one: Target[] = Array.from({ length: 32 }, (_, i) => ({
    projectId: 'solo',
    workflowId: `wf-solo-${pad(i)}`,
  }));
  const fifty: Target[] = [];
  for (let p = 0; p < 50; p++)
    for (let w = 0; w < 4; w++) fifty.push({ projectId: `p${pad(p)}`, workflowId: `wf-p${pad(p)}-${w}` });
  return [new Spread('1 project', one), new Spread('50 projects', fifty)];
}

/** The body of a create-workflow request: as many steps as the seeded workflows have. */
export function createBody(id?: string): string {
  return JSON.stringify({
    ...(id ? { id } : {}),
    type: 'bench',
    name: 'benchmark workflow',
    steps: stepIds.map((s, i) => ({ id: s, name: `Step ${i}`, weight: i + 1 })),
  });
}
