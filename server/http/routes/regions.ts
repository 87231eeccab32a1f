/** The region tree, its GeoJSON and the event categories. */
import type { CategoriesResponse, RegionGeo, RegionInfo, RegionSummary } from '../../../shared/api.ts'
import { Hono } from 'hono'
import { CATEGORIES } from '../../../shared/categories.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { ANY_ROLE, assertRegionAllowed, lookupRegion, requireRole } from '../middleware.ts'
import type { RegionNode } from '../../city/city-index.ts'

const summary = (n: RegionNode, lang: 'zh' | 'en'): RegionSummary => ({
  code: n.code,
  name: n.name,
  level: n.level,
  parentCode: n.parentCode,
  areaM2: Math.round(n.areaM2),
  population: n.population,
  centroid: n.centroid,
  children: n.childCodes.length,
  ...(n.level === 'district'
    ? {}
    : { synthetic: lang === 'en' ? 'synthetic boundary' : '示意边界（非真实）' }),
})

export function regionRoutes(deps: AppDeps) {
  const { city } = deps
  const anyRole = requireRole(deps.tokens, ANY_ROLE)
  return new Hono<AppEnv>()
    .get('/regions/:code', anyRole, (c) => {
      const node = lookupRegion(city, c.req.param('code'))
      assertRegionAllowed(c, node.code)
      const lang = c.get('lang')
      return c.json({
        ...summary(node, lang),
        grids: city.gridsOf(node.code).length,
        children: city.children(node.code).map((k) => summary(k, lang)),
      } satisfies RegionInfo)
    })
    .get('/regions/:code/geo', anyRole, (c) => {
      const node = lookupRegion(city, c.req.param('code'))
      assertRegionAllowed(c, node.code)
      // Filtered by the token's scope: a shared cache must not hand it to another token.
      c.header('cache-control', 'private, max-age=3600')
      return c.json(city.geo(node.code) satisfies RegionGeo)
    })
    .get('/categories', anyRole, (c) =>
      c.json({
        categories: CATEGORIES.map((k) => ({
          code: k.code,
          family: k.family,
          group: k.group,
          zh: k.zh,
          en: k.en,
          name: c.get('lang') === 'en' ? k.en : k.zh,
          limit: k.limit,
          department: k.department,
        })),
      } satisfies CategoriesResponse),
    )
}
