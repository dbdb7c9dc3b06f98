import { offsetAt } from '../config/timezone.js';

/** `2026-11-02`: the day of an instant in the OKR file's time zone. */
export const formatInstantDay = (ms: number, tz: string): string => new Date(ms + offsetAt(ms, tz)).toISOString().slice(0, 10);
export const percentText = (x: number | null): string => (x === null ? 'unknown' : `${Math.round(x * 1000) / 10}%`);
export const scoreText = (s: number | null): string => (s === null ? '–' : s.toFixed(1));
