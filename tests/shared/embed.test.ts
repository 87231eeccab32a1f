/** The embeds' pure rules: exact origins as browsers send them, and what a token lets a page show. */
import { describe, expect, it } from 'vitest'
import { EMBED_TTL_CAP_SECONDS, embedPath, embedRefusal, parseOrigin } from '../../shared/embed.ts'

describe('parseOrigin', () => {
  it('takes scheme://host[:port] and normalises it as an Origin header', () => {
    for (const [input, origin] of [
      ['https://portal.example.gov.cn', 'https://portal.example.gov.cn'],
      [' HTTPS://Portal.Example.GOV.cn ', 'https://portal.example.gov.cn'],
      ['https://portal.example.gov.cn:443', 'https://portal.example.gov.cn'],
      ['http://portal.example.gov.cn:80', 'http://portal.example.gov.cn'],
      ['http://portal.example.gov.cn:8443', 'http://portal.example.gov.cn:8443'],
      ['https://portal.example.gov.cn:0443', 'https://portal.example.gov.cn'],
      ['http://localhost:5173', 'http://localhost:5173'],
      ['http://10.0.0.7:8080', 'http://10.0.0.7:8080'],
      ['https://xn--fiqs8s.cn', 'https://xn--fiqs8s.cn'],
    ])
      expect(parseOrigin(input!), input).toEqual({ ok: true, origin })
  })

  it('refuses paths, wildcards, other schemes, user names, bad hosts, ports and CSP keywords', () => {
    for (const input of [
      'https://portal.example.gov.cn/',
      'https://portal.example.gov.cn/index.html',
      'https://*.example.gov.cn',
      '*',
      "'self'",
      "'none'",
      'null',
      'portal.example.gov.cn',
      'ftp://portal.example.gov.cn',
      'data://x',
      'https://user:pw@portal.example.gov.cn',
      'https://portal..example.gov.cn',
      'https://-portal.example.gov.cn',
      'https://portal_x.example.gov.cn',
      'https://portal.example.gov.cn:0',
      'https://portal.example.gov.cn:65536',
      'https://999.1.1.1',
      'https://[::1]',
      'https://portal.example.gov.cn https://evil.example',
      'https://portal.example.gov.cn;script-src *',
      'https://portal.example.gov.cn#x',
      '',
    ])
      expect(parseOrigin(input).ok, input).toBe(false)
    expect(parseOrigin('https://portal.example.gov.cn/x')).toMatchObject({
      reason: expect.stringMatching(/path/),
    })
    expect(parseOrigin('https://*.gov.cn')).toMatchObject({ reason: expect.stringMatching(/wildcard/) })
  })
})

describe('embedRefusal', () => {
  const token = { region: '430602001', embed: { panels: ['kpis' as const, 'map' as const] } }
  it('lets a token show its own panels, of its region or below', () => {
    expect(embedRefusal(token, { panel: 'kpis' })).toBeNull()
    expect(embedRefusal(token, { panel: 'map', region: '430602001' })).toBeNull()
    expect(embedRefusal(token, { panel: 'map', region: '430602001003' })).toBeNull()
  })
  it('refuses another panel, and a region beside or above its own', () => {
    expect(embedRefusal(token, { panel: 'trend' })).toBe('panel')
    expect(embedRefusal(token, { panel: 'kpis', region: '430602002' })).toBe('region')
    expect(embedRefusal(token, { panel: 'kpis', region: '430602' })).toBe('region')
  })
})

it('caps a key at a year and a signed URL at a day, and builds the page path', () => {
  expect(EMBED_TTL_CAP_SECONDS).toEqual({ key: 365 * 86_400, signed: 86_400 })
  expect(embedPath('kpis', 'a.b+c')).toBe('/embed/kpis?token=a.b%2Bc')
})
