/** An evaluation instant and window: an event counts when its time lies in (at - windowMs, at]. */
export interface Window {
  at: number;
  windowMs: number;
}

export const DAY_MS = 86_400_000;

export function inWindow(time: number, w: Window): boolean {
  return time > w.at - w.windowMs && time <= w.at;
}
