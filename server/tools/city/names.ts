/** Synthetic people and display names (seeded). Pure. */
import type { Rng } from '../../../shared/random.ts'

const SURNAMES = [
  '王',
  '李',
  '张',
  '刘',
  '陈',
  '杨',
  '黄',
  '赵',
  '吴',
  '周',
  '徐',
  '孙',
  '马',
  '朱',
  '胡',
  '郭',
  '何',
  '高',
  '林',
  '罗',
  '郑',
  '梁',
  '谢',
  '宋',
  '唐',
  '许',
  '韩',
  '冯',
  '邓',
  '曹',
  '彭',
  '曾',
  '肖',
  '田',
  '董',
  '袁',
  '潘',
  '蒋',
  '蔡',
  '余',
  '杜',
  '叶',
  '程',
  '苏',
  '魏',
  '吕',
  '丁',
  '任',
  '姚',
  '卢',
  '姜',
  '钟',
  '谭',
  '廖',
  '方',
  '邹',
  '熊',
  '易',
  '贺',
  '龚',
]
const GIVEN = [
  '伟',
  '芳',
  '娜',
  '敏',
  '静',
  '丽',
  '强',
  '磊',
  '军',
  '洋',
  '勇',
  '艳',
  '杰',
  '娟',
  '涛',
  '明',
  '超',
  '秀',
  '霞',
  '平',
  '刚',
  '桂',
  '英',
  '华',
  '慧',
  '建',
  '国',
  '红',
  '文',
  '辉',
  '玲',
  '婷',
  '丹',
  '鹏',
  '宇',
  '浩',
  '凯',
  '琳',
  '燕',
  '波',
  '斌',
  '宁',
  '亮',
  '峰',
  '雪',
  '梅',
  '晨',
  '颖',
  '欣',
  '佳',
  '志',
  '海',
  '兰',
  '春',
  '湘',
  '岳',
  '蓉',
  '俊',
  '倩',
  '松',
]
const MOBILE_PREFIXES = ['3', '5', '7', '8', '9']

export function personName(rng: Rng): string {
  const given = rng.next() < 0.7 ? rng.pick(GIVEN) + rng.pick(GIVEN) : rng.pick(GIVEN)
  return rng.pick(SURNAMES) + given
}

/** '1' + 10 digits, shaped like a mainland mobile number (synthetic). */
export function phoneNumber(rng: Rng): string {
  let s = '1' + rng.pick(MOBILE_PREFIXES)
  while (s.length < 11) s += String(rng.int(10))
  return s
}

/**
 * Display name of a community from its registered committee name:
 * 三荷社区居委会 → 三荷社区, 亮山居民委员会 → 亮山社区, 新老村民委员会 → 新老村, 麻布村委会 → 麻布村.
 */
export function communityDisplayName(raw: string): string {
  const name = raw.trim()
  const rules: [RegExp, string][] = [
    [/社区居民委员会$/, '社区'],
    [/社区居委会$/, '社区'],
    [/居民委员会$/, '社区'],
    [/居委会$/, '社区'],
    [/村民委员会$/, '村'],
    [/村委会$/, '村'],
    [/委员会$/, ''],
  ]
  for (const [re, rep] of rules)
    if (re.test(name))
      return name
        .replace(re, rep)
        .replace(/社区社区$/, '社区')
        .replace(/村村$/, '村')
  return name
}

/** 1 → 一 … 99 (for 第二 / （三） style suffixes). */
export function chineseNumeral(k: number): string {
  const d = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九']
  if (k < 10) return d[k] as string
  if (k < 20) return '十' + (k % 10 ? d[k % 10] : '')
  return (d[Math.floor(k / 10)] as string) + '十' + (k % 10 ? d[k % 10] : '')
}

/** Whether a community is urban (社区/居委会) rather than a village (村). */
export const isUrbanCommunity = (displayName: string): boolean => !/村$/.test(displayName)

/** Street-level unit class: 0 街道, 1 管理处/开发区 etc., 2 镇, 3 乡. */
export function streetClass(name: string): number {
  if (/街道$/.test(name)) return 0
  if (/镇$/.test(name)) return 2
  if (/乡$/.test(name)) return 3
  return 1
}
