/** localStorage that never throws (storage full or disabled: the page still works, a reload replays more). */
export const KEYS = {
  key: 'stepline.key',
  project: 'stepline.project',
  since: (p: string) => `stepline.since.${p}`,
  /** when `since` was last stored: "since you last looked" counts from here */
  sinceAt: (p: string) => `stepline.since-at.${p}`,
};

export const store = {
  get(k: string): string | null {
    try {
      return window.localStorage.getItem(k);
    } catch {
      return null;
    }
  },
  set(k: string, v: string | number): void {
    try {
      window.localStorage.setItem(k, String(v));
    } catch {
      /* ignore */
    }
  },
  del(k: string): void {
    try {
      window.localStorage.removeItem(k);
    } catch {
      /* ignore */
    }
  },
};

export const channel: BroadcastChannel | null =
  typeof BroadcastChannel === 'function' ? new BroadcastChannel('stepline-dashboard') : null;
