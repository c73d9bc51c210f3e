import { randomBytes } from 'node:crypto';

/** While `stringifyWithRaw` runs (synchronously): where RawJson values put their text, and the placeholder nonce. */
let collecting: string[] | null = null;
let nonce = '';

/**
 * A JSON value kept as the text it was stored as, parsed only if someone looks at it. The write path loads
 * step results this way: a progress write never looks at the other steps' results, yet its answer (the
 * whole Workflow) carries them; `stringifyWithRaw` splices the stored text into the answer instead of
 * parsing 1 MiB of results and serialising it again. Anything else that serialises it (`JSON.stringify`,
 * `res.json`) gets the parsed value through `toJSON`, so it is never wrong, only slower.
 */
export class RawJson {
  private parsed: unknown;
  private isParsed = false;

  constructor(readonly text: string) {}

  value(): unknown {
    if (!this.isParsed) {
      this.parsed = JSON.parse(this.text);
      this.isParsed = true;
    }
    return this.parsed;
  }

  toJSON(): unknown {
    if (collecting) {
      collecting.push(this.text);
      return `${nonce}${collecting.length - 1}`;
    }
    return this.value();
  }
}

/**
 * JSON.stringify(value), with every RawJson's stored text copied in as it is. Each RawJson first becomes a
 * string placeholder with a random nonce (so no string in the value can pose as one), then the small
 * serialised skeleton is joined with the texts.
 */
export function stringifyWithRaw(value: unknown): string {
  const texts: string[] = [];
  collecting = texts;
  nonce = `\u0001raw-${randomBytes(9).toString('base64url')}-`;
  let skeleton: string;
  try {
    skeleton = JSON.stringify(value);
  } finally {
    collecting = null;
  }
  if (texts.length === 0) return skeleton;
  const quoted = JSON.stringify(nonce).slice(0, -1); // `"\u0001raw-…-` as it appears in the output
  const parts = skeleton.split(quoted);
  let out = parts[0];
  for (let i = 1; i < parts.length; i++) {
    const end = parts[i].indexOf('"');
    out += texts[Number(parts[i].slice(0, end))] + parts[i].slice(end + 1);
  }
  return out;
}

/** Whether a response body holds RawJson results (a Workflow, or an object with one under `workflow`). */
export function holdsRawJson(body: unknown): boolean {
  const wf = (body as { steps?: unknown; workflow?: { steps?: unknown } } | null | undefined) ?? undefined;
  const steps = Array.isArray(wf?.steps)
    ? wf.steps
    : Array.isArray(wf?.workflow?.steps)
      ? wf.workflow.steps
      : undefined;
  if (!steps) return false;
  for (const st of steps as { result?: unknown }[]) if (st?.result instanceof RawJson) return true;
  return false;
}
