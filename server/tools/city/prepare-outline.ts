/** Makes a source outline usable: re-noded (valid), rounded to 5 decimals, simplified if very detailed. Pure. */
import { simplify } from '@turf/turf'
import polygonClipping from 'polygon-clipping'
import type { MultiPolygonCoords } from '../../../shared/city.ts'
import { roundValid, validateMulti } from './geometry.ts'

export const countPoints = (mp: MultiPolygonCoords): number =>
  mp.reduce((a, poly) => a + poly.reduce((b, ring) => b + ring.length, 0), 0)

export function prepareOutline(raw: MultiPolygonCoords, maxPoints = 3000, decimals = 5): MultiPolygonCoords {
  let mp = roundValid(polygonClipping.union(raw) as MultiPolygonCoords, decimals)
  let tolerance = 0.00005
  while (countPoints(mp) > maxPoints && tolerance < 0.05) {
    const simplified = simplify(
      { type: 'MultiPolygon', coordinates: mp },
      { tolerance, highQuality: true, mutate: false },
    )
    const next = roundValid(
      polygonClipping.union(simplified.coordinates as MultiPolygonCoords) as MultiPolygonCoords,
      decimals,
    )
    if (validateMulti(next) === null && next.length > 0) mp = next
    tolerance *= 2
  }
  const problem = validateMulti(mp)
  if (problem) throw new Error(`district outline is not a valid polygon after cleaning: ${problem}`)
  return mp
}
