/**
 * Masking of personal data (DESIGN.md §3: a `leader` sees 张** / 138****1234; `public` sees no person).
 * Masking never reveals a whole value, whatever the input looks like.
 */
import type { Reporter } from './types.ts'

/** '张三丰' → '张**': the first character, then one '*' per remaining character (at least one). Empty stays empty. */
export function maskName(name: string): string {
  const chars = Array.from(name.trim())
  if (chars.length === 0) return ''
  return chars[0] + '*'.repeat(Math.max(1, chars.length - 1))
}

/** A mainland mobile number after an optional +86 / 0086 country prefix. */
function mobileDigits(digits: string): string | null {
  const local = digits.replace(/^(?:0086|86)(?=1\d{10}$)/, '')
  return /^1\d{10}$/.test(local) ? local : null
}

/**
 * Mask a phone number.
 * - A mainland mobile (11 digits starting with 1, optionally after +86): `138****1234`.
 * - Anything else with at least 7 digits (a landline such as `0730-8221234`): every digit but the
 *   last 4 becomes '*', separators are kept: `****-***1234`.
 * - Fewer than 7 digits, or no digits at all: every digit masked, nothing revealed.
 */
export function maskPhone(phone: string): string {
  const input = phone.trim()
  if (input === '') return ''
  const digits = input.replace(/\D/g, '')
  const mobile = mobileDigits(digits)
  if (mobile) return `${mobile.slice(0, 3)}****${mobile.slice(7)}`
  if (digits.length === 0) return '****'
  const keep = digits.length >= 7 ? 4 : 0
  let toMask = digits.length - keep
  let out = ''
  for (const ch of input) {
    if (/\d/.test(ch) && toMask > 0) {
      out += '*'
      toMask--
    } else out += ch
  }
  return out
}

/** A reporter with name and phone masked; absent fields stay absent. */
export function maskReporter(r: Reporter): Reporter
export function maskReporter(r: Reporter | undefined): Reporter | undefined
export function maskReporter(r: Reporter | undefined): Reporter | undefined {
  if (!r) return undefined
  const out: Reporter = {}
  if (r.name !== undefined) out.name = maskName(r.name)
  if (r.phone !== undefined) out.phone = maskPhone(r.phone)
  return out
}
