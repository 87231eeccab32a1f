/**
 * Event categories (DESIGN.md §2): two families, city management (CJ/T 214 / GB/T 30428.2 lineage)
 * and social governance, each split into groups of leaf categories. A leaf carries its disposal time
 * limit in working time, its share of the realistic event mix and the department that usually
 * handles it.
 *
 * Codes: `CG` (城市管理) or `SG` (社会治理) + 2-digit group + 2-digit leaf, e.g. `CG0101`.
 * The mix follows a typical month (福州): 街面秩序 largest, then 市容环境, then 宣传广告.
 */
import type { TimeLimit } from './working-time.ts'

export type CategoryFamily = 'city' | 'social'

/** A bilingual name. */
export interface Bilingual {
  zh: string
  en: string
}

export interface CategoryGroupRef extends Bilingual {
  /** `CG01`…: family prefix + 2-digit group number. */
  code: string
}

/** A leaf category: what an event's `category` names. */
export interface Category extends Bilingual {
  code: string
  family: CategoryFamily
  group: CategoryGroupRef
  /** Disposal time limit, counted in working time from dispatch. */
  limit: TimeLimit
  /** Share of the event mix; the weights of all leaves sum to 1. */
  weight: number
  /** The department that usually handles it. */
  department: Bilingual
}

/** A group with its leaves, as `categoryGroups()` lists them. */
export interface CategoryGroup extends CategoryGroupRef {
  family: CategoryFamily
  /** Sum of its leaves' weights. */
  weight: number
  categories: readonly Category[]
}

const D = {
  cgzf: { zh: '城管执法局', en: 'Urban Management Law Enforcement Bureau' },
  hw: { zh: '环卫处', en: 'Sanitation Department' },
  sz: { zh: '市政公用局', en: 'Municipal Utilities Bureau' },
  zj: { zh: '住建局', en: 'Housing and Urban-Rural Development Bureau' },
  yl: { zh: '园林绿化局', en: 'Landscaping Bureau' },
  sw: { zh: '水务局', en: 'Water Affairs Bureau' },
  jj: { zh: '交警大队', en: 'Traffic Police Brigade' },
  pcs: { zh: '派出所', en: 'Police Station' },
  xf: { zh: '消防救援大队', en: 'Fire and Rescue Brigade' },
  sfs: { zh: '司法所', en: 'Judicial Office' },
  jd: { zh: '街道办', en: 'Sub-district Office' },
  jwh: { zh: '社区居委会', en: "Community Residents' Committee" },
} as const satisfies Record<string, Bilingual>
type DeptKey = keyof typeof D

/** One leaf as written below: code suffix, names, limit ('4h' or '15d'), mix share in ‰, department. */
type Leaf = [leaf: string, zh: string, en: string, limit: string, permille: number, dept: DeptKey]
interface GroupDef {
  code: string
  zh: string
  en: string
  leaves: Leaf[]
}

const CITY: GroupDef[] = [
  {
    code: 'CG01',
    zh: '市容环境',
    en: 'City appearance',
    leaves: [
      ['01', '暴露垃圾', 'Exposed garbage', '4h', 60, 'hw'],
      ['02', '道路不洁', 'Unclean road surface', '5h', 45, 'hw'],
      ['03', '道路保洁', 'Street sweeping lapse', '2h', 30, 'hw'],
      ['04', '乱堆物堆料', 'Illegal piling of materials', '1d', 30, 'cgzf'],
      ['05', '垃圾满溢', 'Overflowing litter bins', '4h', 25, 'hw'],
      ['06', '河道不洁', 'Dirty waterway', '2d', 10, 'sw'],
    ],
  },
  {
    code: 'CG02',
    zh: '宣传广告',
    en: 'Publicity and advertising',
    leaves: [
      ['01', '非法小广告', 'Illegal flyers and stickers', '1d', 70, 'cgzf'],
      ['02', '乱涂写乱刻画', 'Graffiti', '2d', 20, 'cgzf'],
      ['03', '违规户外广告', 'Unauthorised outdoor advertising', '5d', 15, 'cgzf'],
      ['04', '违规条幅横幅', 'Unauthorised banners', '1d', 10, 'cgzf'],
      ['05', '店招牌匾破损', 'Damaged shop signboard', '3d', 5, 'cgzf'],
    ],
  },
  {
    code: 'CG03',
    zh: '施工管理',
    en: 'Construction management',
    leaves: [
      ['01', '施工扰民', 'Construction noise', '4h', 20, 'cgzf'],
      ['02', '工地扬尘', 'Construction site dust', '4h', 15, 'zj'],
      ['03', '渣土车抛洒', 'Muck truck spillage', '4h', 10, 'cgzf'],
      ['04', '违法搭建', 'Illegal construction', '15d', 10, 'cgzf'],
      ['05', '道路违规开挖', 'Unauthorised road excavation', '2d', 5, 'sz'],
    ],
  },
  {
    code: 'CG04',
    zh: '街面秩序',
    en: 'Street order',
    leaves: [
      ['01', '无照经营游商', 'Unlicensed street vending', '2h', 80, 'cgzf'],
      ['02', '占道经营', 'Occupying the road for business', '4h', 70, 'cgzf'],
      ['03', '店外经营', 'Trading outside the shop front', '4h', 50, 'cgzf'],
      ['04', '非机动车乱停放', 'Disorderly parked bicycles', '4h', 40, 'jd'],
      ['05', '机动车乱停放', 'Illegally parked motor vehicle', '2h', 30, 'jj'],
      ['06', '露天烧烤', 'Open-air barbecue', '2h', 10, 'cgzf'],
    ],
  },
  {
    code: 'CG05',
    zh: '突发事件',
    en: 'Emergencies',
    leaves: [
      ['01', '路面塌陷', 'Road collapse', '2h', 8, 'sz'],
      ['02', '道路积水', 'Road waterlogging', '2h', 15, 'sw'],
      ['03', '管道破裂', 'Burst pipe', '2h', 10, 'sz'],
      ['04', '树木倒伏', 'Fallen tree', '2h', 7, 'yl'],
    ],
  },
  {
    code: 'CG06',
    zh: '部件',
    en: 'Components',
    leaves: [
      ['01', '路灯损坏', 'Street light fault', '3d', 25, 'sz'],
      ['02', '井盖破损缺失', 'Damaged or missing manhole cover', '4h', 20, 'sz'],
      ['03', '车行道破损', 'Damaged carriageway', '5d', 15, 'sz'],
      ['04', '人行道破损', 'Damaged pavement', '5d', 12, 'sz'],
      ['05', '交通护栏损坏', 'Damaged traffic railing', '3d', 8, 'jj'],
    ],
  },
]

const SOCIAL: GroupDef[] = [
  {
    code: 'SG01',
    zh: '矛盾纠纷',
    en: 'Disputes',
    leaves: [
      ['01', '邻里纠纷', 'Neighbour dispute', '3d', 20, 'jwh'],
      ['02', '婚姻家庭纠纷', 'Marriage and family dispute', '5d', 10, 'sfs'],
      ['03', '房屋纠纷', 'Housing dispute', '10d', 10, 'sfs'],
      ['04', '劳资纠纷', 'Wage dispute', '5d', 10, 'jd'],
    ],
  },
  {
    code: 'SG02',
    zh: '安全隐患',
    en: 'Safety hazards',
    leaves: [
      ['01', '消防隐患', 'Fire hazard', '1d', 20, 'xf'],
      ['02', '燃气隐患', 'Gas hazard', '4h', 10, 'zj'],
      ['03', '电动车违规充电', 'Unsafe e-bike charging', '1d', 20, 'jwh'],
    ],
  },
  {
    code: 'SG03',
    zh: '治安防范',
    en: 'Public security',
    leaves: [
      ['01', '治安隐患', 'Public order risk', '1d', 12, 'pcs'],
      ['02', '可疑人员', 'Suspicious person', '4h', 8, 'pcs'],
    ],
  },
  {
    code: 'SG04',
    zh: '民生服务',
    en: 'Livelihood services',
    leaves: [
      ['01', '代办服务', 'Errands on behalf of residents', '5d', 20, 'jwh'],
      ['02', '微心愿', 'Micro-wish', '10d', 10, 'jwh'],
    ],
  },
  {
    code: 'SG05',
    zh: '特殊人群关爱',
    en: 'Care for special groups',
    leaves: [
      ['01', '独居老人关爱', 'Elderly living alone', '3d', 12, 'jwh'],
      ['02', '重点人员走访', 'Visits to persons under supervision', '3d', 8, 'pcs'],
    ],
  },
  {
    code: 'SG06',
    zh: '信息采集',
    en: 'Information collection',
    leaves: [
      ['01', '人口信息采集', 'Population data collection', '5d', 18, 'jwh'],
      ['02', '房屋信息采集', 'Housing data collection', '5d', 12, 'jwh'],
    ],
  },
  {
    code: 'SG07',
    zh: '政策宣传',
    en: 'Policy publicity',
    leaves: [['01', '政策宣传', 'Policy publicity', '5d', 10, 'jwh']],
  },
  { code: 'SG08', zh: '其他', en: 'Other', leaves: [['01', '其他事项', 'Other matters', '5d', 10, 'jd']] },
]

function parseLimit(s: string): TimeLimit {
  const value = Number(s.slice(0, -1))
  return { unit: s.endsWith('h') ? 'hours' : 'days', value }
}

function build(): Category[] {
  const all: Array<[CategoryFamily, GroupDef]> = [
    ...CITY.map((g): [CategoryFamily, GroupDef] => ['city', g]),
    ...SOCIAL.map((g): [CategoryFamily, GroupDef] => ['social', g]),
  ]
  const total = all.reduce((s, [, g]) => s + g.leaves.reduce((t, l) => t + l[4], 0), 0)
  return all.flatMap(([family, g]) => {
    const group: CategoryGroupRef = Object.freeze({ code: g.code, zh: g.zh, en: g.en })
    return g.leaves.map(([leaf, zh, en, limit, permille, dept]) =>
      Object.freeze({
        code: g.code + leaf,
        family,
        group,
        zh,
        en,
        limit: Object.freeze(parseLimit(limit)),
        weight: permille / total,
        department: D[dept],
      }),
    )
  })
}

/** Every leaf category, city management first, in code order. */
export const CATEGORIES: readonly Category[] = Object.freeze(build())

/** Leaf categories by code. */
export const CATEGORY_BY_CODE: ReadonlyMap<string, Category> = new Map(CATEGORIES.map((c) => [c.code, c]))

/** The groups in code order, each with its leaves and their summed weight. */
export function categoryGroups(): CategoryGroup[] {
  const groups = new Map<string, CategoryGroup & { categories: Category[] }>()
  for (const c of CATEGORIES) {
    let g = groups.get(c.group.code)
    if (!g) {
      g = { ...c.group, family: c.family, weight: 0, categories: [] }
      groups.set(c.group.code, g)
    }
    g.categories.push(c)
    g.weight += c.weight
  }
  return [...groups.values()]
}

/** Whether `code` names a leaf category. */
export function isCategoryCode(code: unknown): code is string {
  return typeof code === 'string' && CATEGORY_BY_CODE.has(code)
}
