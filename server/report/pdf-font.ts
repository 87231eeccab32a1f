/**
 * The reports' typeface: Noto Sans SC (SIL Open Font License), regular and bold, from the npm
 * package `@expo-google-fonts/noto-sans-sc`, so a fresh `npm ci` has it: no system font is assumed
 * (a server without fonts-noto-cjk would print boxes, or nothing, for every Chinese character).
 *
 * Each TrueType file is about 10 MB. It is read and parsed once per process, on the first report,
 * and the parsed font is handed to every PDF document: pdfkit embeds only the glyphs a document
 * uses (a subset of a few kilobytes), and parsing the file again for every report would cost more
 * than laying out the report itself.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import * as fontkit from 'fontkit'

/** The faces a report is set in (pdfkit accepts a parsed fontkit font wherever it takes a font file). */
export interface ReportFonts {
  regular: fontkit.Font
  bold: fontkit.Font
}

const FILES = {
  regular: '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf',
  bold: '@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf',
} as const

let loaded: ReportFonts | null = null

function open(specifier: string): fontkit.Font {
  const path = createRequire(import.meta.url).resolve(specifier)
  const font = fontkit.create(readFileSync(path))
  // A .ttc would be a collection; these packages ship single fonts.
  if (!('layout' in font)) throw new Error(`${specifier} is a font collection, not a font`)
  return font
}

/** The report fonts, loaded on first use and kept for the life of the process. */
export function reportFonts(): ReportFonts {
  loaded ??= { regular: open(FILES.regular), bold: open(FILES.bold) }
  return loaded
}
