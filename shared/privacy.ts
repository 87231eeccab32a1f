/**
 * What the public may see of figures that can describe one person. A grid has one grid worker, so
 * a grid's on-duty count and patrol figures say where that worker is and when: the public (embeds,
 * `public` tokens) never gets them below community level, now or as of any past instant. Every
 * place that answers a public token (the KPI API, the live stream's kpis, grids and snapshot)
 * applies these, so the rule lives here once.
 */
import type { KpiValues } from './kpis.ts'
import type { GridAggregate } from './live.ts'
import type { RegionLevel } from './regions.ts'
import type { Role } from './types.ts'

/** KPI keys that describe the grid workers themselves (on duty, patrols). */
export const PERSON_KPI_KEYS = [
  'onlineWorkers',
  'patrolCoverage',
] as const satisfies readonly (keyof KpiValues)[]

/** Regions whose person figures the public may not see: a grid (one worker). */
export const isPersonLevel = (level: RegionLevel): boolean => level === 'grid'

/** Whether a role sees only aggregates that describe no person. */
export const isPublicRole = (role: Role): boolean => role === 'public'

/** The KPI values a role may see for a region of `level`: person figures nulled for the public at grid level. */
export function valuesForRole(values: KpiValues, level: RegionLevel, role: Role): KpiValues {
  if (!isPublicRole(role) || !isPersonLevel(level)) return values
  return { ...values, onlineWorkers: null, patrolCoverage: null }
}

/** A grid's aggregate as a role may see it: the public gets no patrol figure. */
export function gridForRole(g: GridAggregate, role: Role): GridAggregate {
  return isPublicRole(role) ? [g[0], g[1], g[2], g[3], null] : g
}

/**
 * The smallest count the public is shown (embeds' trend and ranking answers): a count of 1 to
 * PUBLIC_MIN_COUNT − 1 can point at one reporter or one case, so it is answered as null with
 * `suppressed` and shown as "<5"; 0 stays 0 (it describes nobody).
 */
export const PUBLIC_MIN_COUNT = 5

/** A count as the public may see it: null below PUBLIC_MIN_COUNT (but not 0). */
export const publicCount = (n: number): number | null => (n > 0 && n < PUBLIC_MIN_COUNT ? null : n)
